package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/raygate/raygate/gateway/config"
)

// JWT verification. Each key is pinned to one algorithm; the token's alg
// header must name that algorithm, so "none", an HMAC token checked against
// an RSA public key, or any algorithm the key was not configured for is
// refused before a signature is computed. golang-jwt/jwt/v5 checks the
// signature and the registered claims; JWK parsing is MicahParks/jwkset.
//
// The JWK Set refresh is our own rather than keyfunc's: keyfunc keeps the
// last set forever when fetches fail, while here a set older than max_stale
// stops verifying (a failed fetch must not turn every request into a 401,
// but a key that may have been withdrawn long ago must not live forever).

type jwtKey struct {
	id  string
	alg string
	key any // *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or []byte
}

type keySet struct {
	keys    map[string]*jwtKey
	fetched time.Time // last successful fetch
}

type jwtVerifier struct {
	cfg    *config.JWTAuth
	now    func() time.Time
	static map[string]*jwtKey
	client *http.Client

	remote atomic.Pointer[keySet]
	gen    atomic.Uint64 // bumped by every fetched key set: cached checks die with it
	cache  *verifiedCache

	refreshMu   sync.Mutex
	lastAttempt time.Time // +checklocks:refreshMu
	fetches     atomic.Uint64
	fetchErrors atomic.Uint64
	lastError   atomic.Pointer[string]

	stop chan struct{}
	once sync.Once
}

func newJWTVerifier(cfg *config.JWTAuth, client *http.Client, now func() time.Time) (*jwtVerifier, error) {
	v := &jwtVerifier{cfg: cfg, now: now, static: map[string]*jwtKey{}, stop: make(chan struct{}), cache: newVerifiedCache(defaultCacheMax)}
	for _, k := range cfg.Keys {
		key, err := staticKey(k)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.ID, err)
		}
		v.static[k.ID] = key
	}
	if cfg.JWKS != nil {
		v.client = client
		if v.client == nil {
			v.client = &http.Client{Timeout: cfg.JWKS.Timeout.D()}
		}
		// The first fetch happens in the background: a down issuer must
		// not hold up boot. Tokens wait for the set (or fail) until then.
		go v.refreshLoop()
	}
	return v, nil
}

func (v *jwtVerifier) close() { v.once.Do(func() { close(v.stop) }) }

func staticKey(k config.JWTKey) (*jwtKey, error) {
	switch {
	case k.Secret != "":
		return &jwtKey{id: k.ID, alg: k.Alg, key: []byte(k.Secret)}, nil
	case k.PEM != "":
		block, _ := pem.Decode([]byte(k.PEM))
		if block == nil {
			return nil, errors.New("pem: no PEM block")
		}
		var pub any
		var err error
		switch block.Type {
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = cert.PublicKey
			}
		default:
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("pem: %v", err)
		}
		return pinned(k.ID, k.Alg, pub)
	default:
		j, err := jwkset.NewJWKFromRawJSON(json.RawMessage(k.JWK), jwkset.JWKMarshalOptions{Private: true}, jwkset.JWKValidateOptions{})
		if err != nil {
			return nil, fmt.Errorf("jwk: %v", err)
		}
		return pinned(k.ID, k.Alg, publicOf(j.Key()))
	}
}

func publicOf(k any) any {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case ed25519.PrivateKey:
		return k.Public()
	}
	return k
}

// pinned checks that the key's type fits the algorithm it is pinned to.
func pinned(id, alg string, key any) (*jwtKey, error) {
	ok := false
	switch k := key.(type) {
	case *rsa.PublicKey:
		ok = strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
		if ok && k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits is too short (2048 at least)", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		ok = (alg == "ES256" && k.Curve == elliptic.P256()) || (alg == "ES384" && k.Curve == elliptic.P384())
	case ed25519.PublicKey:
		ok = alg == "EdDSA"
	case []byte:
		ok = strings.HasPrefix(alg, "HS")
	}
	if !ok {
		return nil, fmt.Errorf("a %T cannot verify %s", key, alg)
	}
	return &jwtKey{id: id, alg: alg, key: key}, nil
}

// inferAlg gives a JWK without "alg" the one algorithm its key type implies.
func inferAlg(key any) string {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return "RS256"
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P384() {
			return "ES384"
		}
		return "ES256"
	case ed25519.PublicKey:
		return "EdDSA"
	}
	return ""
}

// MaxJWKSBytes bounds a fetched JWK Set.
const MaxJWKSBytes = 1 << 20

func (v *jwtVerifier) fetch() error {
	v.fetches.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), v.cfg.JWKS.Timeout.D())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKS.URL, nil)
	if err != nil {
		return err
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS %s answered %d", v.cfg.JWKS.URL, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSBytes+1))
	if err != nil {
		return err
	}
	if len(data) > MaxJWKSBytes {
		return fmt.Errorf("JWKS larger than %d bytes", MaxJWKSBytes)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return fmt.Errorf("JWKS is not a JWK Set: %v", err)
	}
	ks := &keySet{keys: map[string]*jwtKey{}, fetched: v.now()}
	for _, raw := range set.Keys {
		j, err := jwkset.NewJWKFromRawJSON(raw, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			continue // one bad key must not drop the others
		}
		m := j.Marshal()
		if m.KID == "" || (m.USE != "" && m.USE != jwkset.UseSig) {
			continue
		}
		key := publicOf(j.Key())
		alg := string(m.ALG)
		if alg == "" {
			alg = inferAlg(key)
		}
		if k, err := pinned(m.KID, alg, key); err == nil {
			ks.keys[m.KID] = k
		}
	}
	if len(ks.keys) == 0 {
		return errors.New("JWKS holds no usable signing key")
	}
	v.remote.Store(ks)
	v.gen.Add(1)
	return nil
}

// refresh fetches now unless a fetch was attempted within min (rate limit
// for unknown-kid refreshes); it reports whether it fetched successfully.
func (v *jwtVerifier) refresh(min time.Duration) bool {
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	now := v.now()
	if !v.lastAttempt.IsZero() && now.Sub(v.lastAttempt) < min {
		return false
	}
	v.lastAttempt = now
	if err := v.fetch(); err != nil {
		v.fetchErrors.Add(1)
		msg := err.Error()
		v.lastError.Store(&msg)
		return false
	}
	return true
}

func (v *jwtVerifier) refreshLoop() {
	v.refresh(0)
	t := time.NewTicker(v.cfg.JWKS.Refresh.D())
	defer t.Stop()
	// while no set was ever fetched, retry sooner than the refresh period
	retry := time.NewTicker(v.cfg.JWKS.MinInterval.D())
	defer retry.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.refresh(0)
		case <-retry.C:
			if v.remote.Load() == nil {
				v.refresh(v.cfg.JWKS.MinInterval.D())
			}
		}
	}
}

// lookup finds a key by kid; unknown kids trigger a rate-limited refresh.
func (v *jwtVerifier) lookup(kid string) (*jwtKey, error) {
	if kid == "" {
		if len(v.static) == 1 && v.cfg.JWKS == nil {
			for _, k := range v.static {
				return k, nil
			}
		}
		return nil, errors.New("token has no kid")
	}
	if k := v.static[kid]; k != nil {
		return k, nil
	}
	if v.cfg.JWKS == nil {
		return nil, errors.New("token names an unknown key")
	}
	// An unknown kid, or a known one in a set gone stale, is worth one
	// (rate-limited) refresh before the token is refused.
	var stale error
	for attempt := 0; attempt < 2; attempt++ {
		if ks := v.remote.Load(); ks != nil {
			if k := ks.keys[kid]; k != nil {
				age := v.now().Sub(ks.fetched)
				if age <= v.cfg.JWKS.MaxStale.D() {
					return k, nil
				}
				stale = fmt.Errorf("the key set is stale (last fetched %s ago)", age.Round(time.Second))
			}
		}
		if attempt == 0 && !v.refresh(v.cfg.JWKS.MinInterval.D()) {
			break
		}
	}
	if stale != nil {
		return nil, stale
	}
	return nil, errors.New("token names an unknown key")
}

// stale reports whether the fetched key set is past max_stale (a cached
// check must not outlive the set it was made against).
func (v *jwtVerifier) stale(now time.Time) bool {
	if v.cfg.JWKS == nil {
		return false
	}
	ks := v.remote.Load()
	return ks != nil && now.Sub(ks.fetched) > v.cfg.JWKS.MaxStale.D()
}

type jwtHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

func parseHeader(token string) (*jwtHeader, error) {
	if strings.Count(token, ".") != 2 {
		return nil, errors.New("malformed token")
	}
	raw, err := base64.RawURLEncoding.DecodeString(token[:strings.IndexByte(token, '.')])
	if err != nil {
		return nil, errors.New("malformed token header")
	}
	var h jwtHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, errors.New("malformed token header")
	}
	if h.Crit != nil {
		// RFC 7515 4.1.11: an extension we do not understand is fatal.
		return nil, errors.New("token has critical header extensions this gateway does not support")
	}
	if h.Alg == "" || strings.EqualFold(h.Alg, "none") {
		return nil, errors.New("unsigned tokens are not accepted")
	}
	return &h, nil
}

func (v *jwtVerifier) verify(token string) (*identity, error) {
	now := v.now()
	gen := v.gen.Load()
	if id, ok := v.cache.get(token, now, gen); ok && !v.stale(now) {
		return id, nil
	}
	h, err := parseHeader(token)
	if err != nil {
		return nil, err
	}
	key, err := v.lookup(h.Kid)
	if err != nil {
		return nil, err
	}
	if h.Alg != key.alg {
		return nil, fmt.Errorf("token algorithm %s does not match its key", h.Alg)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{key.alg}),
		jwt.WithLeeway(v.cfg.Leeway.D()),
		jwt.WithTimeFunc(v.now),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
	}
	if v.cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.cfg.Issuer))
	}
	if len(v.cfg.Audience) > 0 {
		opts = append(opts, jwt.WithAudience(v.cfg.Audience...))
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.NewParser(opts...).ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return key.key, nil }); err != nil {
		return nil, verifyError(err)
	}
	id := claimsIdentity(claims, "jwt", v.cfg.RoleClaim, v.cfg.ScopeClaim, key.id)
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		v.cache.put(token, id, exp.Time, now, gen)
	}
	return id, nil
}

// verifyError words a golang-jwt error for the client, without echoing
// anything from the token.
func verifyError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return errors.New("token expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return errors.New("token not valid yet")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return errors.New("token issued in the future")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return errors.New("token lacks a required claim (exp)")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return errors.New("token issuer not accepted")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return errors.New("token audience not accepted")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return errors.New("token signature invalid")
	}
	return errors.New("token invalid")
}

func claimsIdentity(c jwt.MapClaims, kind, roleClaim, scopeClaim, keyID string) *identity {
	id := &identity{kind: kind, claims: c}
	id.Subject, _ = c["sub"].(string)
	id.Role, _ = c[roleClaim].(string)
	if _, known := RolePerms[id.Role]; !known {
		id.Role = "Guest"
	}
	id.Permissions = uint32(RolePerms[id.Role])
	id.KeyID = keyID
	switch s := c[scopeClaim].(type) {
	case string:
		id.scopes = strings.Fields(s)
	case []any:
		for _, x := range s {
			if str, ok := x.(string); ok {
				id.scopes = append(id.scopes, str)
			}
		}
	}
	id.Claims = c
	return id
}

// JWKSStatus describes the JWK Set for the console.
type JWKSStatus struct {
	URL       string
	Keys      int
	Age       time.Duration // since the last successful fetch; -1 if never
	Fetches   uint64
	Errors    uint64
	LastError string
}

func (v *jwtVerifier) status() *JWKSStatus {
	if v == nil || v.cfg.JWKS == nil {
		return nil
	}
	st := &JWKSStatus{URL: v.cfg.JWKS.URL, Age: -1, Fetches: v.fetches.Load(), Errors: v.fetchErrors.Load()}
	if ks := v.remote.Load(); ks != nil {
		st.Keys, st.Age = len(ks.keys), v.now().Sub(ks.fetched)
	}
	if e := v.lastError.Load(); e != nil {
		st.LastError = *e
	}
	return st
}
