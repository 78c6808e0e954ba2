package resilience_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raygate/raygate/shell"
)

// TestChaosKillHangGarbage: steady load over three instances while one is
// killed and restarted, then one hangs, then one answers garbage, then all
// are restored. No request outlives the route timeout, errors stay within a
// bound, every instance is back in rotation within the configured windows,
// and every in-flight count and bulkhead slot is released.
func TestChaosKillHangGarbage(t *testing.T) {
	var backs [3]*flaky
	for i := range backs {
		backs[i] = newFlaky(t)
	}
	const routeTimeout = 400 * time.Millisecond
	e := setup(t, fmt.Sprintf(`resilience:
  policies:
    - name: p
      breaker: {consecutive_failures: 50, failure_rate: 80, min_requests: 50, window: 2s, open: 500ms}
      retry: {attempts: 2, backoff: 1ms, budget_percent: 20}
      bulkhead: {max_concurrent: 32, queue: 16, queue_timeout: 200ms}
routes: [{name: r, match: {prefix: /}, service: s, timeout: %s}]
services:
  - name: s
    resilience: p
    outlier: {consecutive_failures: 3, base_ejection: 500ms}
    health_check: {path: /h, interval: 100ms, timeout: 50ms, healthy_threshold: 1, unhealthy_threshold: 2}
    instances: [{address: %q}, {address: %q}, {address: %q}]
`, routeTimeout, backs[0].addr, backs[1].addr, backs[2].addr))

	type phase struct {
		at   time.Duration
		name string
		do   func()
	}
	phases := []phase{
		{500 * time.Millisecond, "kill 0", backs[0].kill},
		{1300 * time.Millisecond, "restart 0, hang 1", func() { backs[0].restart(); backs[1].mode.Store("hang") }},
		{2100 * time.Millisecond, "restore 1, garbage 2", func() { backs[1].mode.Store("ok"); backs[2].mode.Store("garbage") }},
		{2900 * time.Millisecond, "restore 2", func() { backs[2].mode.Store("ok") }},
	}
	const runFor = 4500 * time.Millisecond

	start := time.Now()
	deadline := start.Add(runFor)
	var sent, errs atomic.Int64
	var slowest atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 3 * time.Second}
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Get(e.url + "/x")
				el := time.Since(t0)
				for {
					s := slowest.Load()
					if int64(el) <= s || slowest.CompareAndSwap(s, int64(el)) {
						break
					}
				}
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
	for _, p := range phases {
		time.Sleep(time.Until(start.Add(p.at)))
		p.do()
	}
	wg.Wait()

	pool, _ := e.g.Pool("s")
	var states []string
	for _, b := range backs {
		in := pool.Instance(b.addr)
		states = append(states, pool.State(in).String())
		if n := in.InFlight(); n != 0 {
			t.Errorf("instance %s: %d requests still counted in flight", b.addr, n)
		}
	}
	if n := e.g.Stats().InFlight; n != 0 {
		t.Errorf("gateway: %d requests still in flight", n)
	}
	var out strings.Builder
	reg := shell.NewRegistry()
	e.res.RegisterCommands(reg)
	reg.Exec(&out, "resilience bulkheads")
	if f := strings.Fields(strings.Split(out.String(), "\n")[1]); len(f) < 4 || f[2] != "0" || f[3] != "0" {
		t.Errorf("bulkhead slots not released:\n%s", out.String())
	}
	out.Reset()
	reg.Exec(&out, "resilience retries")
	var retries uint64
	fmt.Sscanf(strings.Fields(strings.Split(out.String(), "\n")[1])[4], "%d", &retries)

	t.Logf("chaos: %d requests, %d errors (%.2f%%), slowest %s (route timeout %s), %d retries (+%.1f%%); states at the end %v",
		sent.Load(), errs.Load(), 100*float64(errs.Load())/float64(sent.Load()), time.Duration(slowest.Load()).Round(time.Millisecond),
		routeTimeout, retries, 100*float64(retries)/float64(sent.Load()), states)
	if el := time.Duration(slowest.Load()); el > routeTimeout+300*time.Millisecond {
		t.Errorf("a request took %s, past the %s route timeout", el, routeTimeout)
	}
	if float64(errs.Load()) > 0.03*float64(sent.Load()) {
		t.Errorf("%d of %d requests failed with at most one of three instances bad at a time", errs.Load(), sent.Load())
	}
	for i, s := range states {
		if s != "healthy" {
			t.Errorf("instance %d is %s %s after it was restored", i, s, runFor-phases[len(phases)-1].at)
		}
	}
}
