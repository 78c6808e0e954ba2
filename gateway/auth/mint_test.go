package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
)

// An independent JWT signer over the standard library alone: tokens in
// these tests are not minted by golang-jwt, the library the code under test
// verifies with, so a bug shared by signing and verifying cannot hide.

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mint(header, claims map[string]any, sign func(msg []byte) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	msg := b64(h) + "." + b64(c)
	return msg + "." + b64(sign([]byte(msg)))
}

func hs256(secret []byte) func([]byte) []byte {
	return func(msg []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(msg)
		return m.Sum(nil)
	}
}

func rs256(k *rsa.PrivateKey) func([]byte) []byte {
	return func(msg []byte) []byte {
		d := sha256.Sum256(msg)
		s, _ := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
		return s
	}
}

func ps256(k *rsa.PrivateKey) func([]byte) []byte {
	return func(msg []byte) []byte {
		d := sha256.Sum256(msg)
		s, _ := rsa.SignPSS(rand.Reader, k, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		return s
	}
}

// esSign is RFC 7518 3.4: r and s as fixed-width big-endian integers.
func esSign(k *ecdsa.PrivateKey, digest []byte) []byte {
	r, s, _ := ecdsa.Sign(rand.Reader, k, digest)
	size := (k.Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out
}

func es256(k *ecdsa.PrivateKey) func([]byte) []byte {
	return func(msg []byte) []byte { d := sha256.Sum256(msg); return esSign(k, d[:]) }
}

func es384(k *ecdsa.PrivateKey) func([]byte) []byte {
	return func(msg []byte) []byte { d := sha512.Sum384(msg); return esSign(k, d[:]) }
}

func eddsa(k ed25519.PrivateKey) func([]byte) []byte {
	return func(msg []byte) []byte { return ed25519.Sign(k, msg) }
}

func pubPEM(pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// rsaJWK renders an RSA public key as a JWK by hand.
func rsaJWK(kid string, k *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
		"n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}
