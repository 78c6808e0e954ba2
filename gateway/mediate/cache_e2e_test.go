package mediate_test

import (
	"bytes"
	"io"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raygate/raygate/gateway/system"
	"github.com/raygate/raygate/shell"
)

func sysExec(t *testing.T, sys *system.System, out io.Writer, line string) {
	t.Helper()
	reg := shell.NewRegistry()
	sys.RegisterCommands(reg)
	if err := reg.Exec(out, line); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

const cacheYAML = `listeners: [{address: "127.0.0.1:0"}]
mediation:
  cache: {max_bytes: 200000, max_entries: 1000, max_entry_bytes: 4096}
  policies:
    - name: cached
      cache: {ttl: 1m, stale_while_revalidate: 30s}
    - name: peruser
      cache: {ttl: 1m, key: [method, path, "header:X-User"]}
routes:
  - {name: cached, match: {prefix: /}, service: b, mediation: cached}
  - {name: peruser, match: {prefix: /short/user}, service: b, mediation: peruser}
services: [{name: b, instances: [{address: "BACKEND"}]}]
`

func TestCache(t *testing.T) {
	b := newBackend(t)
	gw, sys := startGateway(t, b, cacheYAML)

	r1 := do(t, "GET", gw+"/counted?a=1&b=2", "")
	r2 := do(t, "GET", gw+"/counted?b=2&a=1", "")
	if r1.body != "n=1" || r2.body != "n=1" || b.hits("/counted") != 1 {
		t.Fatalf("second request not a hit: %q %q, backend %d", r1.body, r2.body, b.hits("/counted"))
	}
	if !strings.Contains(r1.header.Get("Cache-Status"), "stored") || !strings.Contains(r2.header.Get("Cache-Status"), "hit") || r2.header.Get("Age") == "" {
		t.Errorf("headers: miss %v, hit %v", r1.header, r2.header)
	}
	if r := do(t, "HEAD", gw+"/counted?a=1&b=2", ""); r.status != 200 || r.body != "" || b.hits("/counted") != 1 {
		t.Errorf("HEAD not answered from the GET entry: %d %q", r.status, r.body)
	}
	if r := do(t, "GET", gw+"/counted?a=2", ""); r.body != "n=2" {
		t.Errorf("another query shared the entry: %q", r.body)
	}
	if r := do(t, "POST", gw+"/counted?a=1&b=2", "x"); r.body != "n=3" {
		t.Errorf("POST answered from cache: %q", r.body)
	}

	// responses that must not be stored
	for _, p := range []string{"/nostore", "/cookie"} {
		do(t, "GET", gw+p, "")
		if r := do(t, "GET", gw+p, ""); r.body != "n=2" {
			t.Errorf("%s was cached: %q", p, r.body)
		}
	}
	// request no-store: not stored
	do(t, "GET", gw+"/counted?ns", "", "Cache-Control", "no-store")
	if r := do(t, "GET", gw+"/counted?ns", ""); !strings.Contains(r.header.Get("Cache-Status"), "stored") {
		t.Errorf("a no-store request's response was stored: %v", r.header)
	}

	// Vary: one entry per Accept-Language
	en := do(t, "GET", gw+"/vary", "", "Accept-Language", "en")
	fr := do(t, "GET", gw+"/vary", "", "Accept-Language", "fr")
	en2 := do(t, "GET", gw+"/vary", "", "Accept-Language", "en")
	if en.body != "lang=en n=1" || fr.body != "lang=fr n=2" || en2.body != en.body || b.hits("/vary") != 2 {
		t.Errorf("vary: %q %q %q (%d upstream)", en.body, fr.body, en2.body, b.hits("/vary"))
	}

	// conditional requests: 304 from the stored entry, before and after it
	// is stored
	r := do(t, "GET", gw+"/etag", "", "If-None-Match", `"v1"`)
	if r.status != 304 || b.hits("/etag") != 1 || b.seen("/etag").Header.Get("If-None-Match") != "" {
		t.Errorf("conditional miss: %d, upstream saw If-None-Match %q", r.status, b.seen("/etag").Header.Get("If-None-Match"))
	}
	if r := do(t, "GET", gw+"/etag", "", "If-None-Match", `W/"v1"`); r.status != 304 || r.header.Get("Etag") != `"v1"` || r.body != "" {
		t.Errorf("conditional hit: %d %v %q", r.status, r.header, r.body)
	}
	if r := do(t, "GET", gw+"/etag", ""); r.status != 200 || r.body != "etag=\"v1\" n=1" {
		t.Errorf("plain hit: %d %q", r.status, r.body)
	}

	// expiry (max-age=1), then a stale entry: served while one request
	// revalidates with If-None-Match, and the upstream's 304 refreshes it
	time.Sleep(1100 * time.Millisecond)
	r = do(t, "GET", gw+"/etag", "")
	if r.status != 200 || r.body != "etag=\"v1\" n=1" || b.hits("/etag") != 2 || b.seen("/etag").Header.Get("If-None-Match") != `"v1"` {
		t.Errorf("revalidation: %d %q, upstream %d saw %q", r.status, r.body, b.hits("/etag"), b.seen("/etag").Header.Get("If-None-Match"))
	}
	if r := do(t, "GET", gw+"/etag", ""); !strings.Contains(r.header.Get("Cache-Status"), "hit") || b.hits("/etag") != 2 {
		t.Errorf("not fresh after revalidation: %v", r.header)
	}
	b.etag.Store(`"v2"`)
	time.Sleep(1100 * time.Millisecond)
	if r := do(t, "GET", gw+"/etag", ""); r.body != "etag=\"v2\" n=3" {
		t.Errorf("changed entity not refetched: %q", r.body)
	}

	// per-user key
	a := do(t, "GET", gw+"/short/user", "", "X-User", "a")
	bb := do(t, "GET", gw+"/short/user", "", "X-User", "b")
	a2 := do(t, "GET", gw+"/short/user", "", "X-User", "a")
	if a.body == bb.body || a2.body != a.body {
		t.Errorf("per-user: %q %q %q", a.body, bb.body, a2.body)
	}

	// the byte bound holds while many entries go in
	for i := 0; i < 100; i++ {
		do(t, "GET", gw+"/big?i="+string(rune('a'+i%26))+strings.Repeat("x", i), "")
	}
	st := sys.Mediate.Store().Stats()
	if st.Bytes > 200000 || st.Routes["cached"].Evictions == 0 {
		t.Errorf("byte bound: %d bytes held, %d evictions", st.Bytes, st.Routes["cached"].Evictions)
	}

	rec := httptest.NewRecorder()
	sys.AdminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !regexpMatch(`raygate_cache_hits_total\{route="cached"\} [1-9]`, rec.Body.String()) || !strings.Contains(rec.Body.String(), `raygate_cache_bytes{route="cached"}`) {
		t.Errorf("/metrics has no cache figures:\n%.2000s", rec.Body.String())
	}

	var out bytes.Buffer
	sysExec(t, sys, &out, "mediate cache")
	if !regexpMatch(`cached\s+\d+\s+[\d.]+ KiB\s+[1-9]\d*\s+`, out.String()) {
		t.Errorf("mediate cache:\n%s", out.String())
	}
	out.Reset()
	sysExec(t, sys, &out, "mediate cache flush cached")
	if !strings.Contains(out.String(), "flushed") {
		t.Errorf("flush: %s", out.String())
	}
	if r := do(t, "GET", gw+"/counted?a=1&b=2", ""); strings.Contains(r.header.Get("Cache-Status"), "hit") {
		t.Error("flushed entry still served")
	}
}

// TestCacheCollapsesMisses: concurrent misses for one key reach the
// upstream once; the others get the stored answer.
func TestCacheCollapsesMisses(t *testing.T) {
	b := newBackend(t)
	b.gate = make(chan struct{})
	gw, sys := startGateway(t, b, cacheYAML)
	const n = 20
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			bodies[i] = do(t, "GET", gw+"/slow", "").body
		}(i)
	}
	deadline := time.Now().Add(5 * time.Second)
	for sys.Mediate.Store().InFlight() == 0 || b.hits("/slow") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no request reached the backend")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the others queue behind the leader
	close(b.gate)
	wg.Wait()
	if b.hits("/slow") != 1 {
		t.Errorf("%d upstream requests for %d concurrent misses", b.hits("/slow"), n)
	}
	for i, body := range bodies {
		if body != "n=1" {
			t.Errorf("client %d got %q", i, body)
		}
	}
	if c := sys.Mediate.Store().Stats().Routes["cached"].Collapsed; c != n-1 {
		t.Errorf("collapsed = %d, want %d", c, n-1)
	}
}

// TestCacheServesStaleWhileRevalidating: once an entry is stale (within
// stale_while_revalidate), one request goes upstream and the others get
// the stale entry at once instead of waiting.
func TestCacheServesStaleWhileRevalidating(t *testing.T) {
	b := newBackend(t)
	gw, _ := startGateway(t, b, `listeners: [{address: "127.0.0.1:0"}]
mediation:
  policies: [{name: swr, cache: {ttl: 1s, stale_while_revalidate: 1m}}]
routes: [{name: swr, match: {prefix: /slow}, service: b, mediation: swr}]
services: [{name: b, instances: [{address: "BACKEND"}]}]
`)
	if r := do(t, "GET", gw+"/slow", ""); r.body != "n=1" {
		t.Fatalf("fill: %q", r.body)
	}
	time.Sleep(1100 * time.Millisecond)
	b.gate = make(chan struct{})
	leader := make(chan reply)
	go func() { leader <- do(t, "GET", gw+"/slow", "") }()
	for b.hits("/slow") < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	r := do(t, "GET", gw+"/slow", "")
	if r.body != "n=1" || !strings.Contains(r.header.Get("Cache-Status"), "fwd=stale") || time.Since(start) > 500*time.Millisecond {
		t.Errorf("while revalidating: %q %v after %v", r.body, r.header.Get("Cache-Status"), time.Since(start))
	}
	close(b.gate)
	if lr := <-leader; lr.body != "n=2" {
		t.Errorf("the revalidating request got %q", lr.body)
	}
	if r := do(t, "GET", gw+"/slow", ""); r.body != "n=2" || r.header.Get("Cache-Status") != "raygate; hit" {
		t.Errorf("after revalidation: %q %v", r.body, r.header.Get("Cache-Status"))
	}
}
