package resilience_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/resilience"
	"github.com/raygate/raygate/shell"
)

// flaky is a backend whose behaviour the test switches, counting requests:
// ok, fail (503), hang, or garbage (bytes that are not HTTP); kill closes
// its listener and connections and restart listens again on its address.
type flaky struct {
	t     *testing.T
	mode  atomic.Value // ok, fail, hang, garbage
	hits  atomic.Int64
	addr  string
	delay time.Duration

	mu  sync.Mutex
	srv *http.Server
}

func newFlaky(t *testing.T) *flaky {
	f := &flaky{t: t}
	f.mode.Store("ok")
	f.listen("127.0.0.1:0")
	t.Cleanup(f.kill)
	return f
}

func (f *flaky) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		switch f.mode.Load() {
		case "fail":
			w.WriteHeader(503)
			return
		case "hang":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		case "garbage":
			if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
				io.WriteString(c, "\x00\x17garbage, not HTTP\r\n\r\n")
				c.Close()
			}
			return
		}
		if f.delay > 0 {
			time.Sleep(f.delay)
		}
		io.WriteString(w, "ok")
	})}
	go srv.Serve(ln)
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
}

func (f *flaky) kill() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		f.srv.Close()
		f.srv = nil
	}
}

func (f *flaky) restart() { f.listen(f.addr) }

type env struct {
	url string
	res *resilience.Resilience
	g   *gateway.Gateway
}

func setup(t *testing.T, yaml string) *env {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	res := resilience.New(cfg.Resilience, nil)
	g, err := gateway.New(cfg, gateway.Options{Stages: []any{res}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go g.Serve(ln, cfg.Listeners[0])
	t.Cleanup(func() { ln.Close() })
	return &env{url: "http://" + ln.Addr().String(), res: res, g: g}
}

func get(t *testing.T, url string) (int, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func TestBreakerOpensAndBackendRests(t *testing.T) {
	b := newFlaky(t)
	e := setup(t, fmt.Sprintf(`resilience:
  policies:
    - {name: p, breaker: {consecutive_failures: 3, open: 300ms, half_open_requests: 1}}
routes: [{name: r, match: {prefix: /}, service: s}]
services: [{name: s, resilience: p, outlier: {consecutive_failures: -1}, instances: [{address: %q}]}]
`, b.addr))
	b.mode.Store("fail")
	for i := 0; i < 3; i++ {
		if code, _ := get(t, e.url+"/x"); code != 503 {
			t.Fatalf("failing backend: %d", code)
		}
	}
	hits := b.hits.Load()
	start := time.Now()
	for i := 0; i < 20; i++ {
		code, h := get(t, e.url+"/x")
		if code != 503 || h.Get("Retry-After") == "" {
			t.Fatalf("open breaker: %d %v", code, h)
		}
	}
	if b.hits.Load() != hits {
		t.Fatalf("the backend saw %d requests while the breaker was open", b.hits.Load()-hits)
	}
	if time.Since(start) > 200*time.Millisecond {
		t.Fatalf("an open breaker must answer at once (20 refusals took %s)", time.Since(start))
	}
	// the backend recovers; after the open time one probe closes it
	b.mode.Store("ok")
	time.Sleep(350 * time.Millisecond)
	if code, _ := get(t, e.url+"/x"); code != 200 {
		t.Fatalf("probe: %d", code)
	}
	if code, _ := get(t, e.url+"/x"); code != 200 {
		t.Fatalf("after closing: %d", code)
	}
}

func TestRetriesStayWithinBudget(t *testing.T) {
	a, b := newFlaky(t), newFlaky(t)
	e := setup(t, fmt.Sprintf(`resilience:
  policies:
    - {name: p, retry: {attempts: 3, backoff: 1ms, budget_percent: 20, budget_min_per_second: 1}}
routes: [{name: r, match: {prefix: /}, service: s}]
services: [{name: s, resilience: p, outlier: {consecutive_failures: -1}, instances: [{address: %q}, {address: %q}]}]
`, a.addr, b.addr))
	// one instance down: a retry goes to the other one and succeeds
	a.mode.Store("fail")
	ok := 0
	for i := 0; i < 10; i++ {
		if code, _ := get(t, e.url+"/x"); code == 200 {
			ok++
		}
	}
	if ok != 10 {
		t.Fatalf("with one of two instances failing and retries on, %d of 10 succeeded", ok)
	}
	// both down: retries are capped by the budget, not 3x the load
	b.mode.Store("fail")
	a.hits.Store(0)
	b.hits.Store(0)
	const n = 200
	for i := 0; i < n; i++ {
		get(t, e.url+"/x")
	}
	upstream := a.hits.Load() + b.hits.Load()
	extra := float64(upstream-n) / n
	t.Logf("outage: %d client requests caused %d upstream requests (+%.0f%% from retries)", n, upstream, 100*extra)
	if extra > 0.35 { // 20% + the per-second floor over a short run
		t.Fatalf("retries added %.0f%% load during the outage; the budget is 20%% plus 1/s", 100*extra)
	}
	// POST with a body is not retried (not idempotent)
	a.mode.Store("fail")
	b.mode.Store("fail")
	a.hits.Store(0)
	b.hits.Store(0)
	time.Sleep(1100 * time.Millisecond) // let the budget window move
	resp, err := http.Post(e.url+"/x", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := a.hits.Load() + b.hits.Load(); got != 1 {
		t.Fatalf("POST was sent %d times", got)
	}
}

func TestBulkheadRejectsBeyondCapacityAndQueue(t *testing.T) {
	b := newFlaky(t)
	b.delay = 300 * time.Millisecond
	e := setup(t, fmt.Sprintf(`resilience:
  policies:
    - {name: p, bulkhead: {max_concurrent: 3, queue: 2, queue_timeout: 2s}}
routes: [{name: r, match: {prefix: /}, service: s}]
services: [{name: s, resilience: p, instances: [{address: %q}]}]
`, b.addr))
	var wg sync.WaitGroup
	var ok, rejected atomic.Int64
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := get(t, e.url+"/x")
			switch code {
			case 200:
				ok.Add(1)
			case 503:
				rejected.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 5 || rejected.Load() != 5 {
		t.Fatalf("10 concurrent requests, capacity 3 + queue 2: %d served, %d rejected", ok.Load(), rejected.Load())
	}
	// cancelled clients free their slots
	b.mode.Store("hang")
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/x", nil)
		http.DefaultClient.Do(req)
		cancel()
	}
	b.mode.Store("ok")
	b.delay = 0
	time.Sleep(100 * time.Millisecond)
	for i := 0; i < 5; i++ {
		if code, _ := get(t, e.url+"/x"); code != 200 {
			t.Fatalf("after cancellations, request %d: %d (slots leaked)", i, code)
		}
	}
}

func TestRateLimitHoldsRate(t *testing.T) {
	b := newFlaky(t)
	for _, alg := range []string{"token_bucket", "sliding_window"} {
		t.Run(alg, func(t *testing.T) {
			e := setup(t, fmt.Sprintf(`resilience:
  rate_limits: [{name: l, algorithm: %s, requests: 50, period: 200ms, burst: 10}]
routes: [{name: r, match: {prefix: /}, service: s, rate_limit: l}]
services: [{name: s, instances: [{address: %q}]}]
`, alg, b.addr))
			start := time.Now()
			var allowed int
			for time.Since(start) < time.Second {
				code, h := get(t, e.url+"/x")
				if code == 200 {
					allowed++
				} else if code != 429 || h.Get("Retry-After") == "" || !strings.Contains(h.Get("RateLimit"), `"l";r=`) {
					t.Fatalf("refusal: %d %v", code, h)
				}
				if h.Get("RateLimit-Policy") != `"l";q=50;w=1` && h.Get("RateLimit-Policy") != `"l";q=50;w=0` {
					// 200ms period rounds to w=1 second at least
					if !strings.HasPrefix(h.Get("RateLimit-Policy"), `"l";q=50`) {
						t.Fatalf("policy header %q", h.Get("RateLimit-Policy"))
					}
				}
			}
			elapsed := time.Since(start).Seconds()
			want := 250 * elapsed // 50 per 200ms
			burst := 10.0
			if alg == "sliding_window" {
				burst = 50
			}
			if float64(allowed) > want+burst+5 || float64(allowed) < want*0.9 {
				t.Fatalf("%s: %d allowed in %.2fs, want about %.0f", alg, allowed, elapsed, want)
			}
			t.Logf("%s: %d allowed in %.2fs (rate %.0f/s, configured 250/s)", alg, allowed, elapsed, float64(allowed)/elapsed)
		})
	}
}

func TestResilienceCommand(t *testing.T) {
	b := newFlaky(t)
	e := setup(t, fmt.Sprintf(`resilience:
  policies: [{name: p, breaker: {}, retry: {}, bulkhead: {max_concurrent: 4}}]
  rate_limits: [{name: l, requests: 100}]
routes: [{name: r, match: {prefix: /}, service: s, rate_limit: l}]
services: [{name: s, resilience: p, instances: [{address: %q}]}]
`, b.addr))
	get(t, e.url+"/x")
	reg := shell.NewRegistry()
	e.res.RegisterCommands(reg)
	for _, c := range []struct {
		line, has string
		err       bool
	}{
		{"resilience breakers", "closed", false},
		{"resilience bulkheads", "4", false},
		{"resilience retries", "20% + 3/s", false},
		{"resilience limits", "token_bucket", false},
		{"resilience trip s", "open", false},
		{"resilience reset s", "closed", false},
		{"resilience trip nope", "no breaker", true},
		{"resilience", "usage", true},
	} {
		var out strings.Builder
		err := reg.Exec(&out, c.line)
		if (err != nil) != c.err || !strings.Contains(out.String(), c.has) {
			t.Errorf("%s: %v\n%s", c.line, err, out.String())
		}
	}
	// an operator's trip takes effect on the next request
	reg.Exec(io.Discard, "resilience trip s")
	if code, _ := get(t, e.url+"/x"); code != 503 {
		t.Fatalf("after trip: %d", code)
	}
}

func TestLoadSheddingLowFirst(t *testing.T) {
	b := newFlaky(t)
	b.delay = 300 * time.Millisecond
	e := setup(t, fmt.Sprintf(`resilience:
  shedding: {max_in_flight: 5}
routes:
  - {name: low, match: {prefix: /low/}, service: s, criticality: low}
  - {name: normal, match: {prefix: /normal/}, service: s}
  - {name: crit, match: {prefix: /crit/}, service: s, criticality: critical}
services: [{name: s, instances: [{address: %q}]}]
`, b.addr))
	// fill the gateway with 5 slow normal requests
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); get(t, e.url+"/normal/x") }()
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	lowCode, _ := get(t, e.url+"/low/x")
	lowTook := time.Since(start)
	normalCode, _ := get(t, e.url+"/normal/x")
	critCode, _ := get(t, e.url+"/crit/x")
	wg.Wait()
	if lowCode != 503 || lowTook > 100*time.Millisecond {
		t.Errorf("low under overload: %d in %s (want a fast 503)", lowCode, lowTook)
	}
	if normalCode != 503 {
		t.Errorf("normal past max_in_flight: %d", normalCode)
	}
	if critCode != 200 {
		t.Errorf("critical: %d", critCode)
	}
	if code, _ := get(t, e.url+"/low/x"); code != 200 {
		t.Errorf("low once the load is gone: %d", code)
	}
}

func TestRouteTimeout(t *testing.T) {
	b := newFlaky(t)
	b.mode.Store("hang")
	e := setup(t, fmt.Sprintf(`routes: [{name: r, match: {prefix: /}, service: s, timeout: 200ms}]
services: [{name: s, instances: [{address: %q}]}]
`, b.addr))
	start := time.Now()
	code, _ := get(t, e.url+"/x")
	if code != 504 || time.Since(start) > time.Second {
		t.Fatalf("hung upstream on a 200ms route: %d after %s", code, time.Since(start))
	}
}

func TestBreakerLogsStateChanges(t *testing.T) {
	b := newFlaky(t)
	e := setup(t, fmt.Sprintf(`resilience:
  policies: [{name: p, breaker: {consecutive_failures: 1, open: 1s}}]
routes: [{name: r, match: {prefix: /}, service: s}]
services: [{name: s, resilience: p, outlier: {consecutive_failures: -1}, instances: [{address: %q}]}]
`, b.addr))
	var mu sync.Mutex
	var lines []string
	e.res.Log = func(f string, a ...any) { mu.Lock(); lines = append(lines, fmt.Sprintf(f, a...)); mu.Unlock() }
	b.mode.Store("fail")
	get(t, e.url+"/x")
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 1 || !strings.Contains(lines[0], "breaker s closed -> open for 1s") {
		t.Fatalf("log: %q", lines)
	}
}

// TestChaosOneOfThree is the chaos run of the closing note: steady load
// over three instances, one killed, then restarted. It reports requests
// sent, errors seen, time to open, time to recover and retry overhead.
func TestChaosOneOfThree(t *testing.T) {
	var backs [3]*flaky
	for i := range backs {
		backs[i] = newFlaky(t)
	}
	e := setup(t, fmt.Sprintf(`resilience:
  policies:
    - name: p
      breaker: {consecutive_failures: 20, failure_rate: 50, min_requests: 20, window: 2s, open: 500ms}
      retry: {attempts: 2, backoff: 1ms, budget_percent: 20}
routes: [{name: r, match: {prefix: /}, service: s}]
services:
  - name: s
    resilience: p
    outlier: {consecutive_failures: 3, base_ejection: 1s}
    health_check: {path: /h, interval: 100ms, timeout: 50ms, healthy_threshold: 1, unhealthy_threshold: 2}
    instances: [{address: %q}, {address: %q}, {address: %q}]
`, backs[0].addr, backs[1].addr, backs[2].addr))
	deadline := time.Now().Add(3 * time.Second)
	var sent, errs atomic.Int64
	killAt, reviveAt := 800*time.Millisecond, 1800*time.Millisecond
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 2 * time.Second}
			for time.Now().Before(deadline) {
				resp, err := client.Get(e.url + "/x")
				sent.Add(1)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != 200 {
					errs.Add(1)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	p, _ := e.g.Pool("s")
	victim := p.Instance(backs[1].addr)
	var ejectedAfter, recoveredAfter time.Duration
	wg.Add(1)
	go func() { // watch the killed instance's state
		defer wg.Done()
		for time.Now().Before(deadline) {
			el := time.Since(start)
			st := p.State(victim)
			if el > killAt && el < reviveAt && ejectedAfter == 0 && st.String() == "unhealthy" {
				ejectedAfter = el - killAt
			}
			if el > reviveAt && recoveredAfter == 0 && st.String() == "healthy" {
				recoveredAfter = el - reviveAt
			}
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(killAt)
	backs[1].mode.Store("fail")
	time.Sleep(reviveAt - killAt)
	backs[1].mode.Store("ok")
	wg.Wait()
	var upstream int64
	for _, b := range backs {
		upstream += b.hits.Load()
	}
	var retries uint64
	var out strings.Builder
	reg := shell.NewRegistry()
	e.res.RegisterCommands(reg)
	reg.Exec(&out, "resilience retries")
	fmt.Sscanf(strings.Fields(strings.Split(out.String(), "\n")[1])[4], "%d", &retries)
	t.Logf("chaos: %d requests, %d errors seen by clients (%.2f%%); instance killed at %s: out of rotation after %s; restarted at %s: back after %s; %d retries (+%.1f%% load); upstream requests %d incl. health checks; now %s",
		sent.Load(), errs.Load(), 100*float64(errs.Load())/float64(sent.Load()), killAt, ejectedAfter.Round(time.Millisecond),
		reviveAt, recoveredAfter.Round(time.Millisecond), retries, 100*float64(retries)/float64(sent.Load()), upstream, p.State(victim))
	if float64(errs.Load()) > 0.02*float64(sent.Load()) {
		t.Fatalf("%d of %d requests failed while one of three instances was down", errs.Load(), sent.Load())
	}
	if ejectedAfter == 0 || recoveredAfter == 0 {
		t.Fatalf("the killed instance was not taken out (%s) or brought back (%s)", ejectedAfter, recoveredAfter)
	}
}
