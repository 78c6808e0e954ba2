package gateway_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/raygate/raygate/tools/demo"
)

func backend(t *testing.T, name string) string {
	t.Helper()
	ln, err := demo.Serve(name, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func TestRoutesRespondAndForward(t *testing.T) {
	b1, b2 := backend(t, "one"), backend(t, "two")
	url := serveURL(t, `
routes:
  - {name: health, match: {path: /healthz}, respond: {status: 200, body: "ok\n"}}
  - {name: api, match: {prefix: /api/}, service: s, strip_prefix: true}
  - {name: posts, match: {path: /only-post, methods: [POST]}, respond: {status: 201}}
services:
  - name: s
    instances: [{address: "`+b1+`"}, {address: "`+b2+`"}]
`)
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("health: %d %q %v", resp.StatusCode, body, resp.Header)
	}

	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		req, _ := http.NewRequest("GET", url+"/api/v1/things?q=1", nil)
		req.Header.Set("X-Request-Id", "req-123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e demo.Echo
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if e.Path != "/v1/things" || e.Query != "q=1" || e.Headers["X-Request-Id"] != "req-123" || e.Headers["X-Forwarded-For"] == "" {
			t.Fatalf("forwarded request: %+v", e)
		}
		seen[e.Instance]++
	}
	if seen["one"] != 2 || seen["two"] != 2 {
		t.Errorf("round robin: %v", seen)
	}

	for _, c := range []struct {
		method, path string
		status       int
		kind         string
	}{
		{"GET", "/nope", 404, "no-route"},
		{"GET", "/only-post", 405, "method-not-allowed"},
		{"POST", "/only-post", 201, ""},
		{"GET", "/api/../healthz", 200, ""}, // dot segments resolve before matching
	} {
		req, _ := http.NewRequest(c.method, url+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
		if c.kind != "" && (resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), `/problems/`+c.kind)) {
			t.Errorf("%s %s: problem body %q (%s)", c.method, c.path, body, resp.Header.Get("Content-Type"))
		}
	}
}

func TestUpstreamDownIs502(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	url := serveURL(t, `
routes: [{name: api, match: {prefix: /}, service: s}]
services: [{name: s, instances: [{address: "`+dead+`"}]}]
`)
	resp, err := http.Get(url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// slowReader hands out its data in small pieces with pauses, so the upstream
// answers long before the upload ends.
type slowReader struct {
	data []byte
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(2 * time.Millisecond)
	n := copy(p[:min(len(p), 8<<10)], s.data)
	s.data = s.data[n:]
	return n, nil
}

// TestFullDuplexEcho is the regression test for a bug the image tests
// found: the upstream (an echo) answered before the client finished
// uploading, net/http closed the request body under the proxy, and the
// upstream connection was reset mid-body.
func TestFullDuplexEcho(t *testing.T) {
	b := backend(t, "echo")
	url := serveURL(t, `
routes: [{name: api, match: {prefix: /}, service: s}]
services: [{name: s, instances: [{address: "`+b+`"}]}]
`)
	// Under 256 KiB, so net/http would discard (rather than leave) what is
	// unread when the response starts.
	up := make([]byte, 200<<10)
	rand.Read(up)
	req, _ := http.NewRequest("POST", url+"/echo", &slowReader{data: up})
	req.ContentLength = int64(len(up))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, up) {
		t.Fatalf("echo: %d of %d bytes back, %v", len(got), len(up), err)
	}
}

// serveURL serves a gateway for the YAML config and returns its URL.
func serveURL(t *testing.T, yaml string) string { return serve(t, yaml).url }
