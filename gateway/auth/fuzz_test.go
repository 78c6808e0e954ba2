package auth

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/raygate/raygate/gateway/config"
)

func fuzzAuth(f *testing.F) *Auth {
	cfg, err := config.Parse("fuzz", []byte(`auth:
  jwt: {keys: [{id: hs, alg: HS256, secret: "0123456789abcdef0123456789abcdef"}]}
  tokens: {}
  api_keys: {query: k, keys: [{id: a, hash: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}]}
  basic: {users: [{name: u, hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}]}
routes: []
`))
	if err != nil {
		f.Fatal(err)
	}
	a, err := New(cfg.Auth, Options{})
	if err != nil {
		f.Fatal(err)
	}
	return a
}

// FuzzCredentials feeds arbitrary Authorization headers, API keys and
// tokens through extraction and verification: nothing may panic, and
// nothing that is not a real credential may verify.
func FuzzCredentials(f *testing.F) {
	a := fuzzAuth(f)
	p := &policy{methods: map[string]bool{"jwt": true, "token": true, "api_key": true, "basic": true}}
	for _, s := range []string{
		"Bearer eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzIn0.eyJzdWIiOiJ4In0.sig",
		"Bearer eyJhbGciOiJub25lIn0.e30.",
		"Bearer eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiYiJdfQ.e30.x",
		"Basic dTpw", "Basic !!", "Basic ", "Bearer", "Bearer  a.b.c", "Digest x", "bearer a..b",
		"Basic " + "dTokJGFyZ29uMmlk",
	} {
		f.Add(s, "")
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, authz, key string) {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: "k=" + url.QueryEscape(key)}}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if key != "" {
			r.Header.Set("X-API-Key", key)
		}
		c, err := a.extract(r, p)
		if err != nil || c == nil {
			return
		}
		if id, err := a.verify(c, time.Now()); err == nil {
			t.Fatalf("fuzzed %s credential verified as %+v", c.kind, id.Identity)
		}
	})
}
