package mediate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/system"
)

// backend is the upstream of the end-to-end tests: it records what it was
// sent and counts requests per path.
type backend struct {
	*httptest.Server
	mu    sync.Mutex
	last  map[string]seen
	count map[string]*atomic.Int64
	// gate, when set, holds /slow until closed
	gate chan struct{}
	// etag of /etag, changeable
	etag atomic.Value
}

type seen struct {
	Method, Path, RawQuery, ContentType string
	Header                              http.Header
	Body                                string
}

func newBackend(t *testing.T) *backend {
	b := &backend{last: map[string]seen{}, count: map[string]*atomic.Int64{}}
	b.etag.Store(`"v1"`)
	for _, p := range []string{"/echo", "/json", "/xml", "/counted", "/nostore", "/vary", "/etag", "/slow", "/bad", "/big", "/cookie", "/short"} {
		b.count[p] = &atomic.Int64{}
	}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		key := "/" + strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]
		b.mu.Lock()
		b.last[key] = seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Clone(), string(body)}
		b.mu.Unlock()
		if c := b.count[key]; c != nil {
			c.Add(1)
		}
		switch key {
		case "/echo":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Internal", "secret")
			w.Write(body)
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"order":{"id":"A1","items":{"sku":["x","y"]}}}`)
		case "/xml":
			w.Header().Set("Content-Type", "application/xml")
			io.WriteString(w, `<order id="A1"><sku>x</sku><sku>y</sku></order>`)
		case "/counted", "/short":
			if key == "/short" {
				w.Header().Set("Cache-Control", "max-age=1")
			}
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "n=%d", b.count[key].Load())
		case "/nostore":
			w.Header().Set("Cache-Control", "no-store")
			fmt.Fprintf(w, "n=%d", b.count[key].Load())
		case "/cookie":
			w.Header().Set("Set-Cookie", "s=1")
			fmt.Fprintf(w, "n=%d", b.count[key].Load())
		case "/vary":
			w.Header().Set("Vary", "Accept-Language")
			fmt.Fprintf(w, "lang=%s n=%d", r.Header.Get("Accept-Language"), b.count[key].Load())
		case "/etag":
			etag := b.etag.Load().(string)
			w.Header().Set("ETag", etag)
			w.Header().Set("Cache-Control", "max-age=1")
			if r.Header.Get("If-None-Match") == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			fmt.Fprintf(w, "etag=%s n=%d", etag, b.count[key].Load())
		case "/slow":
			if b.gate != nil {
				<-b.gate
			}
			fmt.Fprintf(w, "n=%d", b.count[key].Load())
		case "/bad":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id": 5}`)
		case "/big":
			w.Write(bytes.Repeat([]byte("x"), 3000))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) seen(path string) seen {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last[path]
}

func (b *backend) hits(path string) int64 { return b.count[path].Load() }

// startGateway assembles the system from yaml (BACKEND replaced by the
// backend's address) and serves it on a loopback port.
func startGateway(t *testing.T, b *backend, yaml string) (string, *system.System) {
	t.Helper()
	yaml = strings.ReplaceAll(yaml, "BACKEND", strings.TrimPrefix(b.URL, "http://"))
	cfg, err := config.Parse("mediate.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	sys, err := system.New(cfg, system.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sys.Mediate.Log = t.Logf
	t.Cleanup(sys.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sys.Gateway.Serve(l, cfg.Listeners[0])
	t.Cleanup(func() { l.Close() })
	return "http://" + l.Addr().String(), sys
}

type reply struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

func do(t *testing.T, method, url, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header, body: string(data)}
	json.Unmarshal(data, &r.json)
	return r
}

const validationYAML = `listeners: [{address: "127.0.0.1:0"}]
mediation:
  schemas:
    - name: item
      document: '{"type":"object","required":["sku"],"properties":{"sku":{"type":"string","pattern":"^[A-Z]+$"}}}'
    - name: order
      document: |
        {"type": "object", "required": ["id", "items"], "additionalProperties": false,
         "properties": {"id": {"type": "string"}, "qty": {"type": "integer", "minimum": 1},
                        "items": {"type": "array", "items": {"$ref": "item"}}}}
    - name: search
      document: '{"type":"object","required":["q"],"properties":{"q":{"type":"string","minLength":2},"page":{"type":"string","pattern":"^[0-9]+$"}}}'
    - name: ids
      document: '{"type":"object","properties":{"id":{"type":"string","pattern":"^[0-9]+$"}}}'
    - name: out
      document: '{"type":"object","properties":{"id":{"type":"string"}}}'
  policies:
    - name: orders
      request: {schema: order, max_body_bytes: 2048}
    - name: search
      request: {query_schema: search, params_schema: ids}
    - name: checked
      response: {schema: out}
    - name: templated
      request: {schema: order}
      errors:
        body: '{"error": "${kind}", "code": ${status}, "id": "${request_id}", "why": "${detail}"}'
routes:
  - {name: orders, match: {prefix: /echo/orders}, service: b, mediation: orders}
  - {name: search, match: {template: "/echo/search/{id}"}, service: b, mediation: search}
  - {name: checked, match: {prefix: /bad}, service: b, mediation: checked}
  - {name: templated, match: {prefix: /echo/t}, service: b, mediation: templated}
services: [{name: b, instances: [{address: "BACKEND"}]}]
`

func TestValidation(t *testing.T) {
	b := newBackend(t)
	gw, sys := startGateway(t, b, validationYAML)

	r := do(t, "POST", gw+"/echo/orders", `{"id":"o1","qty":2,"items":[{"sku":"AB"}]}`, "Content-Type", "application/json")
	if r.status != 200 || b.seen("/echo").Body != `{"id":"o1","qty":2,"items":[{"sku":"AB"}]}` {
		t.Fatalf("valid order: %d %q, backend saw %q", r.status, r.body, b.seen("/echo").Body)
	}

	before := b.hits("/echo")
	r = do(t, "POST", gw+"/echo/orders", `{"qty":0,"items":[{"sku":"ab"},{}],"extra":1}`, "Content-Type", "application/json")
	if r.status != 400 || r.header.Get("Content-Type") != "application/problem+json" || r.json["type"] != "https://raygate.dev/problems/invalid-body" {
		t.Fatalf("invalid order: %d %s", r.status, r.body)
	}
	if b.hits("/echo") != before {
		t.Error("an invalid body reached the backend")
	}
	got := map[string]bool{}
	for _, v := range r.json["violations"].([]any) {
		got[v.(map[string]any)["pointer"].(string)] = true
	}
	for _, want := range []string{"", "/qty", "/items/0/sku", "/items/1"} {
		if !got[want] {
			t.Errorf("no violation at %q in %s", want, r.body)
		}
	}
	if r.json["request_id"] == "" || r.json["status"] != float64(400) {
		t.Errorf("problem members: %s", r.body)
	}

	cases := []struct {
		name, body, ct string
		status         int
		kind           string
	}{
		{"not JSON", `{"id":`, "application/json", 400, "malformed-body"},
		{"wrong type", `<id/>`, "application/xml", 415, "unsupported-media-type"},
		{"too large", `{"id":"` + strings.Repeat("x", 3000) + `"}`, "application/json", 413, "body-too-large"},
		{"too deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), "application/json", 400, "malformed-body"},
		{"huge number", `{"id":"a","items":[],"qty":1e999999}`, "application/json", 400, "malformed-body"},
	}
	for _, c := range cases {
		r := do(t, "POST", gw+"/echo/orders", c.body, "Content-Type", c.ct)
		if r.status != c.status || r.json["type"] != "https://raygate.dev/problems/"+c.kind {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	if r := do(t, "POST", gw+"/echo/orders", ""); r.status != 400 {
		t.Errorf("missing body: %d %s", r.status, r.body)
	}

	// query and path parameters
	if r := do(t, "GET", gw+"/echo/search/12?q=ab&page=3", ""); r.status != 200 {
		t.Errorf("valid query: %d %s", r.status, r.body)
	}
	r = do(t, "GET", gw+"/echo/search/12?q=a&page=x", "")
	if r.status != 400 || !strings.Contains(r.body, `"/query/q"`) || !strings.Contains(r.body, `"/query/page"`) {
		t.Errorf("bad query: %d %s", r.status, r.body)
	}
	r = do(t, "GET", gw+"/echo/search/abc?q=ab", "")
	if r.status != 400 || !strings.Contains(r.body, `"/params/id"`) {
		t.Errorf("bad path parameter: %d %s", r.status, r.body)
	}

	// a response failing its schema is a 502, counted, never shown
	r = do(t, "GET", gw+"/bad", "")
	if r.status != 502 || r.json["type"] != "https://raygate.dev/problems/invalid-response" || strings.Contains(r.body, "5") && strings.Contains(r.body, `"id"`) {
		t.Errorf("bad response: %d %s", r.status, r.body)
	}

	// a route's own error body
	r = do(t, "POST", gw+"/echo/t", `{}`, "Content-Type", "application/json")
	if r.status != 400 || r.header.Get("Content-Type") != "application/json" || r.json["error"] != "invalid-body" || r.json["code"] != float64(400) || r.json["id"] == "" {
		t.Errorf("templated error: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}

	var out bytes.Buffer
	sysExec(t, sys, &out, "mediate schemas")
	if !regexpMatch(`order\s+\d+\s+[1-9]`, out.String()) || !regexpMatch(`out\s+1\s+1`, out.String()) {
		t.Errorf("mediate schemas:\n%s", out.String())
	}
}
