package mediate_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/system"
)

// BenchmarkCacheHit is the whole pipeline's cost for a request answered
// from the cache (routing, the stages, the lookup, writing the stored
// response), in process: no sockets, so the figure is the gateway's own.
// BenchmarkCacheMissPassthrough is the same request on a route without
// the cache, forwarded to a loopback backend, for scale.
func BenchmarkCacheHit(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"items":[1,2,3],"name":"a small JSON response of about a hundred bytes......"}`))
	}))
	defer backend.Close()
	yaml := strings.ReplaceAll(`listeners: [{address: "127.0.0.1:0"}]
mediation:
  policies: [{name: cached, cache: {ttl: 1h}}]
routes:
  - {name: cached, match: {prefix: /c}, service: b, mediation: cached}
  - {name: plain, match: {prefix: /p}, service: b}
services: [{name: b, instances: [{address: "BACKEND"}]}]
`, "BACKEND", strings.TrimPrefix(backend.URL, "http://"))
	cfg, err := config.Parse("bench.yaml", []byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	sys, err := system.New(cfg, system.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sys.Close()
	run := func(b *testing.B, path string) {
		req := httptest.NewRequest("GET", "http://gw"+path, nil)
		req.RemoteAddr = "127.0.0.1:4000"
		w := httptest.NewRecorder()
		sys.Gateway.ServeHTTP(w, req) // fill the cache
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			r := req.Clone(req.Context())
			sys.Gateway.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	}
	b.Run("hit", func(b *testing.B) { run(b, "/c/items?x=1") })
	b.Run("uncached", func(b *testing.B) { run(b, "/p/items?x=1") })
}
