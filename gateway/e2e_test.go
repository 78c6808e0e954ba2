package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/admin"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/shell"
	"github.com/raygate/raygate/tools/demo"
)

// served is a gateway serving its first listener on a loopback socket.
type served struct {
	g    *gateway.Gateway
	url  string
	addr string
}

func serve(t *testing.T, yaml string) *served {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(ln, cfg.Listeners[0])
	t.Cleanup(func() { ln.Close() })
	scheme := "http"
	if cfg.Listeners[0].TLS != nil {
		scheme = "https"
	}
	return &served{g: g, url: scheme + "://" + ln.Addr().String(), addr: ln.Addr().String()}
}

// countingBackend is a demo backend that counts the connections it accepts.
func countingBackend(t *testing.T) (addr string, conns *atomic.Int64) {
	t.Helper()
	conns = &atomic.Int64{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: &demo.Backend{Name: "counted"}, ConnState: func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), conns
}

func svcYAML(addrs ...string) string {
	var in []string
	for _, a := range addrs {
		in = append(in, fmt.Sprintf("{address: %q}", a))
	}
	return "services: [{name: s, instances: [" + strings.Join(in, ", ") + "]}]\n"
}

func TestStreamingBothWaysAndKeepAlive(t *testing.T) {
	addr, conns := countingBackend(t)
	s := serve(t, "routes: [{name: all, match: {prefix: /}, service: s}]\n"+svcYAML(addr))

	// 64 MiB down, streamed: the client sees the first bytes long before
	// the last are produced.
	resp, err := http.Get(s.url + "/stream?bytes=67108864")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != 64<<20 {
		t.Fatalf("down: %d bytes, %v", n, err)
	}

	// 32 MiB up and back through a pipe: never whole in memory anywhere
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 1<<20)
		for i := range buf {
			buf[i] = byte(i)
		}
		for i := 0; i < 32; i++ {
			pw.Write(buf)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", s.url+"/echo", pr)
	req.ContentLength = 32 << 20
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != 32<<20 {
		t.Fatalf("up and back: %d bytes, %v", n, err)
	}

	// keep-alive: 100 sequential requests reuse the upstream connection
	before := conns.Load()
	for i := 0; i < 100; i++ {
		resp, err := http.Get(s.url + "/x")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if opened := conns.Load() - before; opened > 2 {
		t.Errorf("100 requests opened %d upstream connections", opened)
	}
}

func TestForwardingHeaders(t *testing.T) {
	b := backend(t, "b")
	s := serve(t, "routes: [{name: all, match: {prefix: /}, service: s}]\n"+svcYAML(b))
	req, _ := http.NewRequest("GET", s.url+"/h", nil)
	req.Header.Set("X-Forwarded-For", "6.6.6.6") // a client lying about itself
	req.Header.Set("Forwarded", "for=6.6.6.6")
	req.Header.Set("Connection", "X-Secret, keep-alive")
	req.Header.Set("X-Secret", "hop-by-hop")
	req.Header.Set("X-Request-Id", "bad id with spaces")
	req.Host = "api.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e demo.Echo
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	h := e.Headers
	if h["X-Forwarded-For"] != "127.0.0.1" || h["X-Forwarded-Host"] != "api.example.com" || h["X-Forwarded-Proto"] != "http" {
		t.Errorf("X-Forwarded-*: %v", h)
	}
	if h["Forwarded"] != "for=127.0.0.1;host=api.example.com;proto=http" {
		t.Errorf("Forwarded: %q", h["Forwarded"])
	}
	if _, leaked := h["X-Secret"]; leaked {
		t.Error("hop-by-hop header named in Connection was forwarded")
	}
	if e.Host != "api.example.com" {
		t.Errorf("Host: %q", e.Host)
	}
	if id := h["X-Request-Id"]; len(id) != 32 || id != resp.Header.Get("X-Request-Id") {
		t.Errorf("request id: upstream %q, client %q", id, resp.Header.Get("X-Request-Id"))
	}

	// from a trusted proxy the chain is kept
	s2 := serve(t, "proxy: {trusted_proxies: [127.0.0.0/8]}\nroutes: [{name: all, match: {prefix: /}, service: s}]\n"+svcYAML(b))
	req, _ = http.NewRequest("GET", s2.url+"/h", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("X-Request-Id", "upstream-id-42")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if e.Headers["X-Forwarded-For"] != "203.0.113.7, 127.0.0.1" || e.Headers["X-Request-Id"] != "upstream-id-42" {
		t.Errorf("trusted: %v", e.Headers)
	}
}

func wsEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: websocket.Handler(func(c *websocket.Conn) { io.Copy(c, c) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func dialWS(t *testing.T, gwAddr, path string) *websocket.Conn {
	t.Helper()
	cfg, _ := websocket.NewConfig("ws://"+gwAddr+path, "http://localhost/")
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func wsRoundTrip(ws *websocket.Conn, msg string) error {
	if err := websocket.Message.Send(ws, msg); err != nil {
		return err
	}
	var got string
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := websocket.Message.Receive(ws, &got); err != nil {
		return err
	}
	if got != msg {
		return fmt.Errorf("echo %q, want %q", got, msg)
	}
	return nil
}

func TestWebSocketTunnel(t *testing.T) {
	s := serve(t, "routes: [{name: ws, match: {prefix: /ws}, service: s}]\n"+svcYAML(wsEcho(t)))
	ws := dialWS(t, s.addr, "/ws")
	defer ws.Close()
	for i := 0; i < 10; i++ {
		if err := wsRoundTrip(ws, fmt.Sprintf("message %d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExpectContinueAndTrailers(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	backendSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Reject") != "" {
			w.WriteHeader(http.StatusForbidden) // without reading the body
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "X-Checksum")
		w.Write(body)
		w.Header().Set("X-Checksum", fmt.Sprint(len(body)))
	})}
	go backendSrv.Serve(ln)
	defer backendSrv.Close()
	s := serve(t, "routes: [{name: all, match: {prefix: /}, service: s}]\n"+svcYAML(ln.Addr().String()))

	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	body := strings.Repeat("x", 100<<10)
	req, _ := http.NewRequest("PUT", s.url+"/up", strings.NewReader(body))
	req.Header.Set("Expect", "100-continue")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(got) != len(body) || resp.Trailer.Get("X-Checksum") != fmt.Sprint(len(body)) {
		t.Fatalf("100-continue: %d, %d bytes, trailer %q", resp.StatusCode, len(got), resp.Trailer.Get("X-Checksum"))
	}

	// an upstream that refuses before reading: the refusal comes back
	req, _ = http.NewRequest("PUT", s.url+"/up", strings.NewReader(body))
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("X-Reject", "1")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refusal: %d", resp.StatusCode)
	}
}

// rawRequest sends bytes on a fresh connection and returns the status line.
func rawRequest(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, raw)
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

func TestBadRequests(t *testing.T) {
	b := backend(t, "b")
	s := serve(t, "limits: {max_header_bytes: 4096, max_body_bytes: 1000}\nroutes: [{name: all, match: {prefix: /}, service: s}, {name: admin, match: {prefix: /admin/}, respond: {status: 403}}]\n"+svcYAML(b))
	cases := []struct {
		raw, status string
	}{
		{"GARBAGE\r\n\r\n", "400"},
		{"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"},
		{"GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("a", 20000) + "\r\n\r\n", "431"},
		{"GET /public%2f..%2fadmin/x HTTP/1.1\r\nHost: a\r\n\r\n", "400"},
		{"GET /a/../../etc HTTP/1.1\r\nHost: a\r\n\r\n", "400"},
		{"GET /public/%2e%2e/admin/x HTTP/1.1\r\nHost: a\r\n\r\n", "403"},
		{"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", "413"},
		{"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + strings.Repeat("a", 2000) + "\r\n0\r\n\r\n", "413"},
	}
	for _, c := range cases {
		if got := rawRequest(t, s.addr, c.raw); !strings.Contains(got, " "+c.status+" ") {
			t.Errorf("%.60q: got %q, want %s", c.raw, got, c.status)
		}
	}
}

func TestUpstreamFailures(t *testing.T) {
	// an upstream that accepts and never answers: 504 after the timeout
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := serve(t, "limits: {upstream_timeout: 300ms}\nroutes: [{name: all, match: {prefix: /}, service: s}]\n"+svcYAML(ln.Addr().String()))
	resp, err := http.Get(s.url + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 504 {
		t.Fatalf("hung upstream: %d", resp.StatusCode)
	}

	// an upstream that answers garbage: 502
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln2.Close()
	go func() {
		for {
			c, err := ln2.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "NOT HTTP AT ALL\r\n\r\n")
			c.Close()
		}
	}()
	s2 := serve(t, "routes: [{name: all, match: {prefix: /}, service: s}]\n"+svcYAML(ln2.Addr().String()))
	resp, err = http.Get(s2.url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Fatalf("garbage upstream: %d", resp.StatusCode)
	}
}

// TestRouteSwapUnderLoad changes the route table every few milliseconds
// while clients send requests and a WebSocket stays open: no request fails,
// and the WebSocket keeps working across every swap.
func TestRouteSwapUnderLoad(t *testing.T) {
	b := backend(t, "b")
	ws := wsEcho(t)
	s := serve(t, "routes: [{name: stable, match: {prefix: /api/}, service: s}, {name: ws, match: {prefix: /ws}, service: w}]\n"+
		fmt.Sprintf("services: [{name: s, instances: [{address: %q}]}, {name: w, instances: [{address: %q}]}]\n", b, ws))

	conn := dialWS(t, s.addr, "/ws")
	defer conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var sent, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for ctx.Err() == nil {
				resp, err := client.Get(s.url + "/api/x")
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	swaps := 0
	for ctx.Err() == nil {
		name := fmt.Sprintf("temp%d", swaps%5)
		if err := s.g.AddRoute(config.Route{Name: name, Match: config.Match{Prefix: "/" + name + "/"}, Service: "s"}); err != nil {
			t.Fatal(err)
		}
		if err := s.g.RemoveRoute(name); err != nil {
			t.Fatal(err)
		}
		swaps += 2
		if swaps%20 == 0 {
			if err := wsRoundTrip(conn, fmt.Sprint("swap ", swaps)); err != nil {
				t.Fatalf("WebSocket after %d swaps: %v", swaps, err)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()
	if failed.Load() != 0 || sent.Load() < 100 {
		t.Fatalf("%d of %d requests failed across %d swaps", failed.Load(), sent.Load(), swaps)
	}
	if err := wsRoundTrip(conn, "after"); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests, %d table swaps, WebSocket open throughout", sent.Load(), swaps)
}

func selfSigned(t *testing.T) (certPEM, keyPEM string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}))
}

func TestTLSAndHTTP2(t *testing.T) {
	cert, key := selfSigned(t)
	b := backend(t, "b")
	y := fmt.Sprintf("listeners: [{address: '127.0.0.1:0', tls: {cert_pem: %q, key_pem: %q}}]\nroutes: [{name: all, match: {prefix: /}, service: s}]\n", cert, key) + svcYAML(b)
	s := serve(t, y)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(cert))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := client.Get(s.url + "/tls")
	if err != nil {
		t.Fatal(err)
	}
	var e demo.Echo
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || e.Path != "/tls" || e.Headers["X-Forwarded-Proto"] != "https" {
		t.Fatalf("proto %s, echo %+v", resp.Proto, e)
	}

	// HTTP/1.1 over TLS: served, known to be TLS, and strictly framed
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	resp, err = h1.Get(s.url + "/tls1")
	if err != nil {
		t.Fatal(err)
	}
	e = demo.Echo{}
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.ProtoMajor != 1 || e.Path != "/tls1" || e.Headers["X-Forwarded-Proto"] != "https" {
		t.Fatalf("HTTP/1.1 over TLS: proto %s, echo %+v", resp.Proto, e)
	}
	for _, raw := range []string{
		"GET /x HTTP/1.1\nHost: a\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		c, err := tls.Dial("tcp", s.addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, raw)
		answer, _ := io.ReadAll(c)
		c.Close()
		if !strings.HasPrefix(string(answer), "HTTP/1.1 400 ") || !strings.Contains(string(answer), "bad-framing") {
			t.Errorf("%q over TLS: %q", raw, answer)
		}
	}
	// a client that stalls its handshake holds no one else up
	stalled, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if resp, err := h1.Get(s.url + "/after"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
}

func TestRewrites(t *testing.T) {
	b := backend(t, "b")
	s := serve(t, `routes:
  - {name: user, match: {template: "/users/{id}/orders/**"}, service: s, rewrite: "/v2/orders/{**}?user={id}"}
  - {name: strip, match: {prefix: /api/v1/}, service: s, strip_prefix: true}
  - {name: rx, match: {regex: "/files/(?P<name>[a-z]+)\\.txt"}, service: s, rewrite: "/blobs/{name}"}
  - {name: orig, match: {prefix: /keep/}, service: s}
`+svcYAML(b))
	for _, c := range []struct{ in, path string }{
		{"/users/42/orders/7/items", "/v2/orders/7/items?user=42"},
		{"/api/v1/things?x=1", "/things"},
		{"/api/v1", "/"},
		{"/files/readme.txt", "/blobs/readme"},
		{"/keep/a/../b", "/keep/a/../b"}, // matched normalised, forwarded as sent
	} {
		resp, err := http.Get(s.url + c.in)
		if err != nil {
			t.Fatal(err)
		}
		var e demo.Echo
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		got := e.Path
		if e.Query != "" && !strings.Contains(c.in, "?") {
			got += "?" + e.Query
		}
		if got != c.path {
			t.Errorf("%s forwarded as %q, want %q", c.in, got, c.path)
		}
	}
}

func TestAdminAPI(t *testing.T) {
	b := backend(t, "b")
	cfg, _ := config.Parse("t", []byte("routes: [{name: r, match: {prefix: /r/}, service: s}]\n"+svcYAML(b)))
	g, _ := gateway.New(cfg, gateway.Options{})
	api := httptestServer(t, admin.Handler(g, "a-very-long-admin-token"))
	do := func(method, path, body, token string) (int, string) {
		req, _ := http.NewRequest(method, api+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(data)
	}
	const tok = "a-very-long-admin-token"
	if code, _ := do("GET", "/admin/routes", "", ""); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if code, _ := do("GET", "/admin/routes", "", "wrong"); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	cases := []struct {
		method, path, body string
		code               int
		has                string
	}{
		{"GET", "/admin/routes", "", 200, `"name": "r"`},
		{"POST", "/admin/routes", `{"name": "newroute", "match": {"path": "/n"}, "respond": {"status": 202}}`, 201, "ok"},
		{"POST", "/admin/routes", `{name: newroute, match: {path: /n2}, respond: {}}`, 409, "exists"},
		{"POST", "/admin/routes", `{name: bad, match: {path: nope}, respond: {}}`, 400, "must start with /"},
		{"POST", "/admin/routes", `{name: x, colour: red}`, 400, "colour"},
		{"DELETE", "/admin/routes/missing", "", 404, "no route named"},
		{"DELETE", "/admin/services/s", "", 409, "used by routes r"},
		{"POST", "/admin/services", `{name: t, instances: [{address: "127.0.0.1:1"}]}`, 201, "ok"},
		{"GET", "/admin/services", "", 200, `"name": "t"`},
		{"GET", "/admin/health", "", 200, `"service": "s"`},
		{"GET", "/admin/status", "", 200, `"config_version": 2`},
		{"POST", "/admin/services/t/instances", `{"address": "127.0.0.1:2", "weight": 2}`, 201, "ok"},
		{"PUT", "/admin/services/t/strategy", `{"strategy": "least_conn"}`, 200, "ok"},
		{"PUT", "/admin/services/t/instances/127.0.0.1:2/weight", `{"weight": 5}`, 200, "ok"},
		{"POST", "/admin/services/t/instances/127.0.0.1:2/drain", "", 200, "ok"},
		{"POST", "/admin/services/t/instances/127.0.0.1:2/explode", "", 404, "drain, enable or disable"},
		{"DELETE", "/admin/services/t/instances/127.0.0.1:2", "", 200, "ok"},
		{"PUT", "/admin/services/t/strategy", `{"strategy": "fastest"}`, 400, "not one of"},
		{"GET", "/admin/config", "", 200, "strategy: least_conn"},
		{"DELETE", "/admin/routes/newroute", "", 200, "ok"},
		{"GET", "/admin/nope", "", 404, "no admin endpoint"},
	}
	for _, c := range cases {
		code, body := do(c.method, c.path, c.body, tok)
		if code != c.code || !strings.Contains(body, c.has) {
			t.Errorf("%s %s: %d %s; want %d containing %q", c.method, c.path, code, body, c.code, c.has)
		}
	}
}

func httptestServer(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestGatewayCommand(t *testing.T) {
	b := backend(t, "b")
	s := serve(t, "routes: [{name: r, match: {prefix: /r/}, service: s, strip_prefix: true}]\n"+svcYAML(b))
	reg := shell.NewRegistry()
	s.g.RegisterCommands(reg)
	http.Get(s.url + "/r/x")
	run := func(line string) (string, error) {
		var out bytes.Buffer
		err := reg.Exec(&out, line)
		return out.String(), err
	}
	for _, c := range []struct {
		line string
		has  []string
		err  bool
	}{
		{"gateway status", []string{"routes", "1 of 512", "requests"}, false},
		{"gateway routes", []string{"NAME", "r  ", "prefix", "/r/", "service s (strip prefix)"}, false},
		{"gateway services", []string{"HEALTH", "healthy"}, false},
		{"gateway health", []string{b, "healthy"}, false},
		{"gateway route add {name: v2, match: {path: /v2}, respond: {status: 204}}", []string{"ok: config version 1"}, false},
		{"gateway route add {name: v2, match: {path: /v3}, respond: {}}", []string{"exists"}, true},
		{"gateway route remove v2", []string{"ok"}, false},
		{"gateway route remove v2", []string{"no route named"}, true},
		{"gateway service add {name: t, instances: [{address: 10.0.0.9:80}]}", []string{"ok"}, false},
		{"gateway service remove s", []string{"used by routes r"}, true},
		{"gateway config show", []string{"routes:", "name: r"}, false},
		{"gateway config validate", []string{"valid"}, false},
		{"gateway config validate /no/such/file.yaml", []string{"no such file"}, true},
		{"gateway", []string{"usage:"}, true},
		{"gateway frob", []string{"unknown subcommand"}, true},
		{"gateway route add", []string{"usage:"}, true},
	} {
		out, err := run(c.line)
		if (err != nil) != c.err {
			t.Errorf("%s: error %v", c.line, err)
		}
		for _, h := range c.has {
			if !strings.Contains(out, h) {
				t.Errorf("%s: output lacks %q:\n%s", c.line, h, out)
			}
		}
	}
}

func TestPassiveHealthAndFailover(t *testing.T) {
	good := backend(t, "good")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	s := serve(t, "routes: [{name: all, match: {prefix: /}, service: s}]\n"+svcYAML(good, dead))
	codes := map[int]int{}
	for i := 0; i < 20; i++ {
		resp, err := http.Get(s.url + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	// the dead instance fails until outlier detection ejects it (5
	// consecutive failures by default), then traffic goes to the good one
	if codes[502] > 5 || codes[200] < 15 {
		t.Fatalf("status counts %v", codes)
	}
	for _, si := range s.g.Services() {
		for _, in := range si.Instances {
			want := "healthy"
			if in.Address == dead {
				want = "unhealthy"
			}
			if in.State != want && !(want == "unhealthy" && in.State == "ejected") {
				t.Errorf("%s: %s, want %s", in.Address, in.State, want)
			}
		}
		if si.Health != "degraded" {
			t.Errorf("service health %s", si.Health)
		}
	}
}

// newRegistry returns a function running console lines against s's gateway.
func newRegistry(s *served) func(string) (string, error) {
	reg := shell.NewRegistry()
	s.g.RegisterCommands(reg)
	return func(line string) (string, error) {
		var out bytes.Buffer
		err := reg.Exec(&out, line)
		return out.String(), err
	}
}
