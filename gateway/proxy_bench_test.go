package gateway_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/config"
)

// BenchmarkProxy measures one request through a proxy over loopback
// sockets, keep-alive on both sides, against a small-response backend: the
// full raygate pipeline and, in the same run, a plain httputil.ReverseProxy.
// Run it on one core: go test -run '^$' -bench Proxy -cpu 1 ./gateway/
func BenchmarkProxy(b *testing.B) {
	body := []byte(`{"hello":"world"}`)
	backendLn, _ := net.Listen("tcp", "127.0.0.1:0")
	backendSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go backendSrv.Serve(backendLn)
	defer backendSrv.Close()
	backend := backendLn.Addr().String()

	cfg, err := config.Parse("bench", []byte(`
routes: [{name: api, match: {prefix: /api/}, service: s}]
services: [{name: s, instances: [{address: "`+backend+`"}]}]
`))
	if err != nil {
		b.Fatal(err)
	}
	g, err := gateway.New(cfg, gateway.Options{})
	if err != nil {
		b.Fatal(err)
	}
	baseline := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: backend})
	baseline.Transport = &http.Transport{MaxIdleConnsPerHost: 32}

	for _, p := range []struct {
		name string
		h    http.Handler
	}{{"raygate", g}, {"httputil", baseline}} {
		b.Run(p.name, func(b *testing.B) {
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			srv := &http.Server{Handler: p.h}
			go srv.Serve(ln)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			u := "http://" + ln.Addr().String() + "/api/x"
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(u)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
