package auth_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/auth"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/shell"
	"github.com/raygate/raygate/tools/demo"
)

// clock is a settable time source for the auth stage.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	url   string
	auth  *auth.Auth
	clock *clock
}

// setup serves a gateway with the auth stage over real sockets, in front of
// a demo backend that echoes the headers it received.
func setup(t *testing.T, authYAML, routesYAML string) *fixture {
	t.Helper()
	ln, err := demo.Serve("backend", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	y := authYAML + routesYAML + fmt.Sprintf("services: [{name: s, instances: [{address: %q}]}, {name: other, instances: [{address: %q}]}]\n", ln.Addr(), ln.Addr())
	cfg, err := config.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	a, err := auth.New(cfg.Auth, auth.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	g, err := gateway.New(cfg, gateway.Options{Stages: []any{a}})
	if err != nil {
		t.Fatal(err)
	}
	gl, _ := net.Listen("tcp", "127.0.0.1:0")
	go g.Serve(gl, cfg.Listeners[0])
	t.Cleanup(func() { gl.Close() })
	return &fixture{url: "http://" + gl.Addr().String(), auth: a, clock: clk}
}

type result struct {
	status int
	body   string
	hdr    http.Header
	echo   demo.Echo
}

func (f *fixture) do(t *testing.T, method, path string, hdr ...string) result {
	t.Helper()
	req, _ := http.NewRequest(method, f.url+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := result{status: resp.StatusCode, body: string(data), hdr: resp.Header}
	if resp.StatusCode == 200 {
		json.Unmarshal(data, &r.echo)
	}
	return r
}

type keys struct {
	rsa    *rsa.PrivateKey
	ec256  *ecdsa.PrivateKey
	ec384  *ecdsa.PrivateKey
	ed     ed25519.PrivateKey
	secret []byte
}

var testKeys = func() keys {
	r, _ := rsa.GenerateKey(rand.Reader, 2048)
	e1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e2, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	return keys{rsa: r, ec256: e1, ec384: e2, ed: ed, secret: []byte("0123456789abcdef0123456789abcdef-hmac")}
}()

func jwtAuthYAML(k keys) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return `auth:
  jwt:
    issuer: https://issuer.example
    audience: [api]
    leeway: 30s
    keys:
      - {id: rs, alg: RS256, pem: ` + q(pubPEM(&k.rsa.PublicKey)) + `}
      - {id: ps, alg: PS256, pem: ` + q(pubPEM(&k.rsa.PublicKey)) + `}
      - {id: es, alg: ES256, pem: ` + q(pubPEM(&k.ec256.PublicKey)) + `}
      - {id: es3, alg: ES384, pem: ` + q(pubPEM(&k.ec384.PublicKey)) + `}
      - {id: ed, alg: EdDSA, pem: ` + q(pubPEM(k.ed.Public())) + `}
      - {id: hs, alg: HS256, secret: ` + q(string(k.secret)) + `}
      - {id: jwk, alg: RS256, jwk: ` + q(jwkJSON(&k.rsa.PublicKey)) + `}
  lockout: {max_failures: 1000}
`
}

const jwtRoutes = `routes:
  - {name: open, match: {prefix: /open/}, service: s}
  - {name: api, match: {prefix: /api/}, service: s, auth: {methods: [jwt]}}
  - {name: orders, match: {prefix: /orders/}, service: s, auth: {methods: [jwt], scopes: [orders:read]}}
  - {name: admins, match: {prefix: /admin/}, service: s, auth: {methods: [jwt], roles: [Admin]}}
  - {name: tenant, match: {prefix: /acme/}, service: s, auth: {methods: [jwt], claims: {tenant: acme}}}
`

func claims(now time.Time, extra map[string]any) map[string]any {
	c := map[string]any{"iss": "https://issuer.example", "aud": "api", "sub": "alice", "role": "User",
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestJWTAcceptsEveryAlgorithm(t *testing.T) {
	k := testKeys
	f := setup(t, jwtAuthYAML(k), jwtRoutes)
	now := f.clock.Now()
	for _, c := range []struct {
		kid, alg string
		sign     func([]byte) []byte
	}{
		{"rs", "RS256", rs256(k.rsa)}, {"ps", "PS256", ps256(k.rsa)}, {"es", "ES256", es256(k.ec256)},
		{"es3", "ES384", es384(k.ec384)}, {"ed", "EdDSA", eddsa(k.ed)}, {"hs", "HS256", hs256(k.secret)},
		{"jwk", "RS256", rs256(k.rsa)},
	} {
		tok := mint(map[string]any{"alg": c.alg, "kid": c.kid, "typ": "JWT"}, claims(now, nil), c.sign)
		r := f.do(t, "GET", "/api/x", "Authorization", "Bearer "+tok)
		if r.status != 200 {
			t.Errorf("%s: %d %s", c.alg, r.status, r.body)
			continue
		}
		if r.echo.Headers["X-Auth-Subject"] != "alice" || r.echo.Headers["X-Auth-Role"] != "User" || r.echo.Headers["Authorization"] != "" {
			t.Errorf("%s: backend saw %v", c.alg, r.echo.Headers)
		}
	}
}

func TestJWTRejections(t *testing.T) {
	k := testKeys
	f := setup(t, jwtAuthYAML(k), jwtRoutes)
	now := f.clock.Now()
	rsHdr := map[string]any{"alg": "RS256", "kid": "rs"}
	good := mint(rsHdr, claims(now, nil), rs256(k.rsa))
	tampered := good[:strings.IndexByte(good, '.')+1] + b64([]byte(`{"sub":"mallory","role":"Admin","exp":9999999999,"iss":"https://issuer.example","aud":"api"}`)) + good[strings.LastIndexByte(good, '.'):]
	cases := []struct {
		name, token, want string
	}{
		{"alg none", mint(map[string]any{"alg": "none", "kid": "rs"}, claims(now, nil), func([]byte) []byte { return nil }), "unsigned"},
		{"HMAC with the RSA public key as secret", mint(map[string]any{"alg": "HS256", "kid": "rs"}, claims(now, nil), hs256([]byte(pubPEM(&k.rsa.PublicKey)))), "does not match its key"},
		{"RS256 token on the HS key", mint(map[string]any{"alg": "RS256", "kid": "hs"}, claims(now, nil), rs256(k.rsa)), "does not match its key"},
		{"unknown kid", mint(map[string]any{"alg": "RS256", "kid": "nope"}, claims(now, nil), rs256(k.rsa)), "unknown key"},
		{"no kid with several keys", mint(map[string]any{"alg": "RS256"}, claims(now, nil), rs256(k.rsa)), "no kid"},
		{"crit header", mint(map[string]any{"alg": "RS256", "kid": "rs", "crit": []string{"exp"}}, claims(now, nil), rs256(k.rsa)), "critical"},
		{"expired beyond leeway", mint(rsHdr, claims(now, map[string]any{"exp": now.Add(-time.Minute).Unix()}), rs256(k.rsa)), "expired"},
		{"not yet valid", mint(rsHdr, claims(now, map[string]any{"nbf": now.Add(time.Minute).Unix()}), rs256(k.rsa)), "not valid yet"},
		{"issued in the future", mint(rsHdr, claims(now, map[string]any{"iat": now.Add(time.Minute).Unix()}), rs256(k.rsa)), "future"},
		{"no exp", mint(rsHdr, claims(now, map[string]any{"exp": nil}), rs256(k.rsa)), "required claim"},
		{"wrong issuer", mint(rsHdr, claims(now, map[string]any{"iss": "https://evil.example"}), rs256(k.rsa)), "issuer"},
		{"wrong audience", mint(rsHdr, claims(now, map[string]any{"aud": "other"}), rs256(k.rsa)), "audience"},
		{"tampered payload", tampered, "signature"},
		{"signed by another key", mint(rsHdr, claims(now, nil), es256(k.ec256)), "invalid"},
		{"garbage", "not.a.jwt", "malformed"},
		{"two segments", "abc.def", "malformed"},
	}
	for _, c := range cases {
		r := f.do(t, "GET", "/api/x", "Authorization", "Bearer "+c.token)
		if r.status != 401 {
			t.Errorf("%s: status %d", c.name, r.status)
			continue
		}
		www := r.hdr.Get("WWW-Authenticate")
		if !strings.Contains(www, `Bearer realm="raygate", error="invalid_token"`) || !strings.Contains(strings.ToLower(www+r.body), strings.ToLower(c.want)) {
			t.Errorf("%s: challenge %q body %s; want %q", c.name, www, r.body, c.want)
		}
		if strings.Contains(r.body, c.token) || strings.Contains(www, c.token) {
			t.Errorf("%s: the token is echoed", c.name)
		}
		if r.hdr.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %s", c.name, r.hdr.Get("Content-Type"))
		}
	}

	// within the leeway an expired token still passes
	r := f.do(t, "GET", "/api/x", "Authorization", "Bearer "+mint(rsHdr, claims(now, map[string]any{"exp": now.Add(-10 * time.Second).Unix()}), rs256(k.rsa)))
	if r.status != 200 {
		t.Errorf("within leeway: %d %s", r.status, r.body)
	}
	// no credentials: a challenge without an error code
	r = f.do(t, "GET", "/api/x")
	if r.status != 401 || r.hdr.Get("WWW-Authenticate") != `Bearer realm="raygate"` {
		t.Errorf("no credentials: %d %q", r.status, r.hdr.Get("WWW-Authenticate"))
	}
	// public routes stay public
	if r := f.do(t, "GET", "/open/x"); r.status != 200 {
		t.Errorf("public route: %d", r.status)
	}
}

func TestAuthorization(t *testing.T) {
	k := testKeys
	f := setup(t, jwtAuthYAML(k), jwtRoutes)
	now := f.clock.Now()
	tok := func(extra map[string]any) string {
		return "Bearer " + mint(map[string]any{"alg": "ES256", "kid": "es"}, claims(now, extra), es256(k.ec256))
	}
	cases := []struct {
		name, method, path, token string
		status                    int
		www                       string
	}{
		{"scope present (string)", "GET", "/orders/1", tok(map[string]any{"scope": "profile orders:read"}), 200, ""},
		{"scope present (array)", "GET", "/orders/1", tok(map[string]any{"scope": []string{"orders:read"}}), 200, ""},
		{"scope missing", "GET", "/orders/1", tok(map[string]any{"scope": "profile"}), 403, `insufficient_scope`},
		{"role allowed", "GET", "/admin/x", tok(map[string]any{"role": "Admin"}), 200, ""},
		{"role refused", "GET", "/admin/x", tok(nil), 403, ""},
		{"guest may read", "GET", "/api/x", tok(map[string]any{"role": "Guest"}), 200, ""},
		{"guest may not write", "POST", "/api/x", tok(map[string]any{"role": "Guest"}), 403, ""},
		{"unknown role is a guest", "DELETE", "/api/x", tok(map[string]any{"role": "Emperor"}), 403, ""},
		{"user may write", "POST", "/api/x", tok(nil), 200, ""},
		{"claim matches", "GET", "/acme/x", tok(map[string]any{"tenant": "acme"}), 200, ""},
		{"claim differs", "GET", "/acme/x", tok(map[string]any{"tenant": "umbrella"}), 403, ""},
	}
	for _, c := range cases {
		r := f.do(t, c.method, c.path, "Authorization", c.token)
		if r.status != c.status || (c.www != "" && !strings.Contains(r.hdr.Get("WWW-Authenticate"), c.www)) {
			t.Errorf("%s: %d %q %s", c.name, r.status, r.hdr.Get("WWW-Authenticate"), r.body)
		}
	}
}

func keyHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(h[:])
}

func TestAPIKeysBasicAndTokens(t *testing.T) {
	bc, _ := bcrypt.GenerateFromPassword([]byte("s3cret-bcrypt"), bcrypt.MinCost)
	salt := []byte("0123456789abcdef")
	a2 := argon2.IDKey([]byte("s3cret-argon"), salt, 1, 8*1024, 1, 32)
	argonHash := fmt.Sprintf("$argon2id$v=19$m=8192,t=1,p=1$%s$%s", base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(a2))
	f := setup(t, fmt.Sprintf(`auth:
  api_keys:
    query: api_key
    keys:
      - {id: cfgkey, hash: %q, role: User}
      - {id: bound, hash: %q, role: ServiceAccount, services: [other]}
      - {id: old, hash: %q, expires: "2001-01-01T00:00:00Z"}
  basic:
    users:
      - {name: bob, hash: %q, role: User}
      - {name: carol, hash: %q, role: Admin}
  tokens: {ttl: 10m}
  lockout: {max_failures: 1000}
`, keyHash("configured-key-1"), keyHash("bound-key-2"), keyHash("old-key-3"), bc, argonHash), `routes:
  - {name: k, match: {prefix: /k/}, service: s, auth: {methods: [api_key]}}
  - {name: kf, match: {prefix: /kf/}, service: s, auth: {methods: [api_key], forward_credential: true}}
  - {name: b, match: {prefix: /b/}, service: s, auth: {methods: [basic]}}
  - {name: any, match: {prefix: /any/}, service: s, auth: {methods: [basic, token, api_key]}}
  - {name: tok, match: {prefix: /t/}, service: s, auth: {methods: [token]}}
`)
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }

	// API keys
	for _, c := range []struct {
		name   string
		path   string
		hdr    []string
		status int
	}{
		{"configured key in header", "/k/x", []string{"X-API-Key", "configured-key-1"}, 200},
		{"configured key in query", "/k/x?api_key=configured-key-1&q=1", nil, 200},
		{"unknown key", "/k/x", []string{"X-API-Key", "guess"}, 401},
		{"expired key", "/k/x", []string{"X-API-Key", "old-key-3"}, 401},
		{"key bound elsewhere", "/k/x", []string{"X-API-Key", "bound-key-2"}, 403},
		{"no key", "/k/x", nil, 401},
		{"spoofed identity header", "/k/x", []string{"X-API-Key", "configured-key-1", "X-Auth-Role", "Admin"}, 200},
	} {
		r := f.do(t, "GET", c.path, c.hdr...)
		if r.status != c.status {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
		if r.status == 200 {
			h := r.echo.Headers
			if h["X-Api-Key"] != "" || strings.Contains(r.echo.Query, "api_key") || h["X-Auth-Key-Id"] != "cfgkey" || h["X-Auth-Role"] != "User" {
				t.Errorf("%s: backend saw %v query %q", c.name, h, r.echo.Query)
			}
		}
	}
	if r := f.do(t, "GET", "/k/x", "X-API-Key", "guess"); !strings.Contains(r.hdr.Get("WWW-Authenticate"), `ApiKey realm="raygate", header="X-API-Key"`) {
		t.Errorf("api key challenge: %q", r.hdr.Get("WWW-Authenticate"))
	}
	if r := f.do(t, "GET", "/kf/x", "X-API-Key", "configured-key-1"); r.echo.Headers["X-Api-Key"] != "configured-key-1" {
		t.Errorf("forward_credential: %v", r.echo.Headers)
	}

	// keys created at run time, shown once, then removed
	key, info, err := f.auth.Keys().Create("fresh", "User", nil, nil, []string{"k"}, time.Hour)
	if err != nil || !strings.HasPrefix(key, "rgk_") || !strings.HasPrefix(key, info.Prefix) {
		t.Fatalf("create: %v %q %+v", err, key, info)
	}
	if r := f.do(t, "GET", "/k/x", "X-API-Key", key); r.status != 200 {
		t.Errorf("runtime key: %d", r.status)
	}
	if r := f.do(t, "GET", "/any/x", "X-API-Key", key); r.status != 403 {
		t.Errorf("runtime key bound to route k used on any: %d", r.status)
	}
	f.auth.Keys().Remove("fresh")
	if r := f.do(t, "GET", "/k/x", "X-API-Key", key); r.status != 401 {
		t.Errorf("removed key: %d", r.status)
	}

	// Basic
	for _, c := range []struct {
		user, pass string
		status     int
		role       string
	}{
		{"bob", "s3cret-bcrypt", 200, "User"},
		{"carol", "s3cret-argon", 200, "Admin"},
		{"bob", "wrong", 401, ""},
		{"nobody", "x", 401, ""},
		{"bob", "s3cret-bcrypt", 200, "User"}, // cached success
	} {
		r := f.do(t, "GET", "/b/x", "Authorization", basic(c.user, c.pass))
		if r.status != c.status || (c.role != "" && r.echo.Headers["X-Auth-Role"] != c.role) {
			t.Errorf("basic %s: %d %v", c.user, r.status, r.echo.Headers)
		}
		if r.status == 401 && r.hdr.Get("WWW-Authenticate") != `Basic realm="raygate", charset="UTF-8"` {
			t.Errorf("basic challenge %q", r.hdr.Get("WWW-Authenticate"))
		}
	}
	if r := f.do(t, "GET", "/b/x", "Authorization", "Basic !!!"); r.status != 401 {
		t.Errorf("malformed basic: %d", r.status)
	}

	// gateway-issued tokens: issue, use, revoke (next request refused),
	// refresh (new works, old refused), expire
	tok, rec, err := f.auth.Issuer().Issue("dave", "ServiceAccount", 0)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "GET", "/t/x", "Authorization", "Bearer "+tok); r.status != 200 || r.echo.Headers["X-Auth-Subject"] != "dave" {
		t.Fatalf("issued token: %d %v", r.status, r.echo.Headers)
	}
	if r := f.do(t, "GET", "/any/x", "Authorization", "Bearer "+tok); r.status != 200 {
		t.Errorf("issued token on a multi-method route: %d", r.status)
	}
	if err := f.auth.Issuer().Revoke(rec.ID); err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "GET", "/t/x", "Authorization", "Bearer "+tok); r.status != 401 || !strings.Contains(r.body, "revoked") {
		t.Errorf("revoked token: %d %s", r.status, r.body)
	}
	tok2, rec2, _ := f.auth.Issuer().Issue("erin", "User", 0)
	tok3, _, err := f.auth.Issuer().Refresh(rec2.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "GET", "/t/x", "Authorization", "Bearer "+tok3); r.status != 200 || r.echo.Headers["X-Auth-Subject"] != "erin" {
		t.Errorf("refreshed token: %d", r.status)
	}
	if r := f.do(t, "GET", "/t/x", "Authorization", "Bearer "+tok2); r.status != 401 {
		t.Errorf("token replaced by refresh: %d", r.status)
	}
	f.clock.Add(11 * time.Minute)
	if r := f.do(t, "GET", "/t/x", "Authorization", "Bearer "+tok3); r.status != 401 || !strings.Contains(r.body, "expired") {
		t.Errorf("expired issued token: %d %s", r.status, r.body)
	}
	// a token from another gateway's key is refused
	other, _ := auth.NewIssuer(&config.TokenAuth{TTL: config.Duration(time.Hour), MaxTTL: config.Duration(24 * time.Hour), MaxTokens: 4, MaxRevoked: 4}, time.Now)
	foreign, _, _ := other.Issue("mallory", "Admin", 0)
	if r := f.do(t, "GET", "/t/x", "Authorization", "Bearer "+foreign); r.status != 401 {
		t.Errorf("foreign gateway token: %d", r.status)
	}
}

func TestRevocationListBounded(t *testing.T) {
	now := time.Now()
	clk := &clock{t: now}
	is, err := auth.NewIssuer(&config.TokenAuth{TTL: config.Duration(time.Minute), MaxTTL: config.Duration(time.Hour), MaxTokens: 10, MaxRevoked: 2}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < 3; i++ {
		_, rec, _ := is.Issue(fmt.Sprint("u", i), "User", 0)
		ids = append(ids, rec.ID)
	}
	if is.Revoke(ids[0]) != nil || is.Revoke(ids[1]) != nil {
		t.Fatal("revoke")
	}
	if err := is.Revoke(ids[2]); err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("third revocation: %v", err)
	}
	clk.Add(2 * time.Minute) // the revoked ones would have expired: forgotten
	if err := is.Revoke(ids[2]); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	for _, bad := range []struct{ sub, role string }{{"", "User"}, {"x", "Root"}, {"a\nb", "User"}} {
		if _, _, err := is.Issue(bad.sub, bad.role, 0); err == nil {
			t.Errorf("issue %q %q: no error", bad.sub, bad.role)
		}
	}
	if _, _, err := is.Issue("x", "User", 2*time.Hour); err == nil {
		t.Error("ttl above max_ttl accepted")
	}
}

func TestJWKSRotationAndOutage(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	var mu sync.Mutex
	served := []map[string]any{rsaJWK("one", &k1.PublicKey)}
	down := false
	var fetches atomic.Int64
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if down {
			http.Error(w, "down", 503)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": served})
	})}
	go srv.Serve(ln)
	defer srv.Close()

	f := setup(t, fmt.Sprintf("auth:\n  jwt:\n    jwks: {url: 'http://%s/jwks.json', refresh: 1h, max_stale: 10m, min_interval: 1ms}\n", ln.Addr()),
		"routes: [{name: api, match: {prefix: /api/}, service: s, auth: {methods: [jwt]}}]\n")
	tok := func(kid string, k *rsa.PrivateKey) string {
		return "Bearer " + mint(map[string]any{"alg": "RS256", "kid": kid}, claims(f.clock.Now(), map[string]any{"iss": nil, "aud": nil}), rs256(k))
	}
	// the first fetch happens in the background: wait for it
	deadline := time.Now().Add(5 * time.Second)
	for f.do(t, "GET", "/api/x", "Authorization", tok("one", k1)).status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("JWKS key never accepted")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// rotation: the issuer adds key two; a token naming it triggers a refresh
	mu.Lock()
	served = []map[string]any{rsaJWK("one", &k1.PublicKey), rsaJWK("two", &k2.PublicKey)}
	mu.Unlock()
	f.clock.Add(time.Second) // refreshes are rate limited on the stage's clock
	if r := f.do(t, "GET", "/api/x", "Authorization", tok("two", k2)); r.status != 200 {
		t.Fatalf("rotated key: %d %s", r.status, r.body)
	}

	// a token reused for a long time: verified once, then served from the
	// cache of checked tokens, which must not outlive the key set
	long := "Bearer " + mint(map[string]any{"alg": "RS256", "kid": "one"},
		claims(f.clock.Now(), map[string]any{"iss": nil, "aud": nil, "exp": f.clock.Now().Add(time.Hour).Unix()}), rs256(k1))
	for i := 0; i < 3; i++ {
		if r := f.do(t, "GET", "/api/x", "Authorization", long); r.status != 200 {
			t.Fatalf("long-lived token, use %d: %d", i, r.status)
		}
	}

	// outage: fetches fail, the last good set keeps serving
	mu.Lock()
	down = true
	mu.Unlock()
	before := fetches.Load()
	f.clock.Add(time.Second)
	if r := f.do(t, "GET", "/api/x", "Authorization", tok("three", k2)); r.status != 401 {
		t.Fatalf("unknown kid during outage: %d", r.status)
	}
	if fetches.Load() == before {
		t.Error("an unknown kid did not trigger a refresh")
	}
	f.clock.Add(5 * time.Minute)
	if r := f.do(t, "GET", "/api/x", "Authorization", tok("one", k1)); r.status != 200 {
		t.Fatalf("during outage, within max_stale: %d %s", r.status, r.body)
	}
	f.clock.Add(6 * time.Minute) // 11 minutes since the last good fetch
	if r := f.do(t, "GET", "/api/x", "Authorization", tok("one", k1)); r.status != 401 || !strings.Contains(r.body, "stale") {
		t.Fatalf("beyond max_stale: %d %s", r.status, r.body)
	}
	if r := f.do(t, "GET", "/api/x", "Authorization", long); r.status != 401 {
		t.Fatalf("a cached token outlived the stale key set: %d", r.status)
	}
	// the issuer comes back: the next refresh restores service
	mu.Lock()
	down = false
	mu.Unlock()
	f.clock.Add(time.Second)
	if r := f.do(t, "GET", "/api/x", "Authorization", tok("two", k2)); r.status != 200 {
		t.Fatalf("after recovery: %d %s", r.status, r.body)
	}
}

func TestUnknownKidRefreshIsRateLimited(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	var fetches atomic.Int64
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{rsaJWK("one", &k1.PublicKey)}})
	})}
	go srv.Serve(ln)
	defer srv.Close()
	f := setup(t, fmt.Sprintf("auth:\n  jwt:\n    jwks: {url: 'http://%s/', refresh: 1h, min_interval: 1h}\n  lockout: {max_failures: 1000}\n", ln.Addr()),
		"routes: [{name: api, match: {prefix: /api/}, service: s, auth: {methods: [jwt]}}]\n")
	deadline := time.Now().Add(5 * time.Second)
	for fetches.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	start := fetches.Load()
	for i := 0; i < 50; i++ {
		tok := mint(map[string]any{"alg": "RS256", "kid": fmt.Sprint("k", i)}, claims(f.clock.Now(), map[string]any{"iss": nil, "aud": nil}), rs256(k1))
		f.do(t, "GET", "/api/x", "Authorization", "Bearer "+tok)
	}
	if n := fetches.Load() - start; n > 1 {
		t.Fatalf("50 unknown kids caused %d fetches; min_interval allows at most 1", n)
	}
}

func TestLockout(t *testing.T) {
	f := setup(t, fmt.Sprintf("auth:\n  api_keys: {keys: [{id: k, hash: %q}]}\n  lockout: {max_failures: 3, window: 1m, duration: 2m}\n", keyHash("right-key")),
		"routes: [{name: k, match: {prefix: /k/}, service: s, auth: {methods: [api_key]}}]\n")
	for i := 0; i < 3; i++ {
		if r := f.do(t, "GET", "/k/x", "X-API-Key", fmt.Sprint("wrong", i)); r.status != 401 {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	r := f.do(t, "GET", "/k/x", "X-API-Key", "right-key")
	if r.status != 429 || r.hdr.Get("Retry-After") != "120" {
		t.Fatalf("locked out: %d Retry-After %q", r.status, r.hdr.Get("Retry-After"))
	}
	f.clock.Add(2*time.Minute + time.Second)
	if r := f.do(t, "GET", "/k/x", "X-API-Key", "right-key"); r.status != 200 {
		t.Fatalf("after the lockout: %d", r.status)
	}
	var out bytes.Buffer
	reg := shell.NewRegistry()
	f.auth.RegisterCommands(reg)
	reg.Exec(&out, "apiauth failures")
	if !strings.Contains(out.String(), "ip:127.0.0.1") || strings.Contains(out.String(), "wrong") {
		t.Errorf("failures:\n%s", out.String())
	}
}

func TestApiauthCommand(t *testing.T) {
	f := setup(t, "auth:\n  api_keys: {}\n  tokens: {}\n  basic: {users: [{name: bob, hash: '$2a$04$abcdefghijklmnopqrstuuN1vM3iH6jz0n0I2xE2r9vVnM4cMz2y', role: User}]}\n",
		"routes: [{name: k, match: {prefix: /k/}, service: s, auth: {methods: [api_key, token]}}]\n")
	reg := shell.NewRegistry()
	f.auth.RegisterCommands(reg)
	run := func(line string) (string, error) {
		var out bytes.Buffer
		err := reg.Exec(&out, line)
		return out.String(), err
	}
	out, err := run("apiauth key add ci ServiceAccount perms=read routes=k ttl=24h")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if !strings.HasPrefix(key, "rgk_") {
		t.Fatalf("key add:\n%s", out)
	}
	if r := f.do(t, "GET", "/k/x", "X-API-Key", key); r.status != 200 {
		t.Errorf("console key: %d", r.status)
	}
	keys, _ := run("apiauth keys")
	if !strings.Contains(keys, "ci") || strings.Contains(keys, key) || !strings.Contains(keys, key[:10]) {
		t.Errorf("keys must show the id and prefix, never the key:\n%s", keys)
	}
	out, _ = run("apiauth issue frank User 15m")
	tok := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	id := strings.Fields(out)[1]
	if r := f.do(t, "GET", "/k/x", "Authorization", "Bearer "+tok); r.status != 200 {
		t.Errorf("console token: %d", r.status)
	}
	for _, c := range []struct {
		line string
		has  string
		err  bool
	}{
		{"apiauth tokens", "active 1", false},
		{"apiauth tokens frank", "frank", false},
		{"apiauth perms ci", "read", false},
		{"apiauth perms bob", "read,write", false},
		{"apiauth perms frank", "User", false},
		{"apiauth perms nobody", "no key", true},
		{"apiauth revoke " + id, "revoked", false},
		{"apiauth revoke ci", "removed", false},
		{"apiauth refresh " + id, "revoked", true},
		{"apiauth issue x Root", "not a role", true},
		{"apiauth issue x User forever", "usage", true},
		{"apiauth key add bad!id User", "may hold only", true},
		{"apiauth key add k2 User colour=red", "unknown option", true},
		{"apiauth jwks", "no JWKS", true},
		{"apiauth", "usage", true},
	} {
		out, err := run(c.line)
		if (err != nil) != c.err || !strings.Contains(out, c.has) {
			t.Errorf("%s: %v\n%s", c.line, err, out)
		}
		if strings.Contains(out, tok) && !strings.Contains(c.line, "issue") {
			t.Errorf("%s printed a token", c.line)
		}
	}
	if r := f.do(t, "GET", "/k/x", "Authorization", "Bearer "+tok); r.status != 401 {
		t.Errorf("token revoked on the console still works: %d", r.status)
	}
}

func jwkJSON(k *rsa.PublicKey) string {
	b, _ := json.Marshal(rsaJWK("jwk", k))
	return string(b)
}
