package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/raygate/raygate/gateway/config"
)

func pemOf(pub any) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// BenchmarkCheck measures one credential's extraction, verification and
// authorization, as the stage does per request.
func BenchmarkCheck(b *testing.B) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, dk, _ := ed25519.GenerateKey(rand.Reader)
	apiKey := "rgk_benchmark-key-0123456789abcdefghijklmnop"
	h := sha256.Sum256([]byte(apiKey))
	cfg := &config.Config{Auth: config.Auth{
		JWT: &config.JWTAuth{Keys: []config.JWTKey{
			{ID: "rs", Alg: "RS256", PEM: pemOf(&rk.PublicKey)},
			{ID: "es", Alg: "ES256", PEM: pemOf(&ek.PublicKey)},
			{ID: "ed", Alg: "EdDSA", PEM: pemOf(dk.Public())},
		}},
		APIKeys: &config.APIKeyAuth{Keys: []config.APIKey{{ID: "k", Hash: "sha256:" + hex.EncodeToString(h[:])}}},
	}}
	cfg.SetDefaults()
	a, err := New(cfg.Auth, Options{})
	if err != nil {
		b.Fatal(err)
	}
	p := &policy{methods: map[string]bool{"jwt": true, "api_key": true}}
	claims := jwt.MapClaims{"sub": "bench", "role": "User", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	sign := func(m jwt.SigningMethod, kid string, key any) string {
		t := jwt.NewWithClaims(m, claims)
		t.Header["kid"] = kid
		s, err := t.SignedString(key)
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	cache := a.jwt.cache
	for _, c := range []struct {
		name, header, value string
		cached              bool
	}{
		{"jwt-RS256-first-use", "Authorization", "Bearer " + sign(jwt.SigningMethodRS256, "rs", rk), false},
		{"jwt-ES256-first-use", "Authorization", "Bearer " + sign(jwt.SigningMethodES256, "es", ek), false},
		{"jwt-EdDSA-first-use", "Authorization", "Bearer " + sign(jwt.SigningMethodEdDSA, "ed", dk), false},
		{"jwt-ES256-reused", "Authorization", "Bearer " + sign(jwt.SigningMethodES256, "es", ek), true},
		{"api-key", "X-API-Key", apiKey, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			// first use: every check verifies the signature; reused: the
			// token was checked before and is served from the cache
			a.jwt.cache = nil
			if c.cached {
				a.jwt.cache = cache
			}
			r, _ := http.NewRequest("GET", "/x", nil)
			r.Header.Set(c.header, c.value)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				cr, err := a.extract(r, p)
				if err != nil || cr == nil {
					b.Fatal(err)
				}
				id, err := a.verify(cr, time.Now())
				if err != nil {
					b.Fatal(err)
				}
				if err := a.authorize(id, p, "GET"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
