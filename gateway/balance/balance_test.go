package balance

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/tools/dnstest"
)

func svc(strategy string, weights ...int) config.Service {
	s := config.Service{Name: "s", Strategy: strategy}
	for i, w := range weights {
		w := w
		s.Instances = append(s.Instances, config.Instance{Address: fmt.Sprintf("10.0.0.%d:80", i+1), Weight: &w})
	}
	c := config.Config{Services: []config.Service{s}}
	c.SetDefaults()
	return c.Services[0]
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func counts(t *testing.T, p *Pool, n int, key func(i int) string) map[string]int {
	t.Helper()
	m := map[string]int{}
	for i := 0; i < n; i++ {
		k := ""
		if key != nil {
			k = key(i)
		}
		in, err := p.Pick(k, nil)
		if err != nil {
			t.Fatal(err)
		}
		m[in.Addr]++
	}
	return m
}

func TestRoundRobinEven(t *testing.T) {
	p := NewPool(svc("round_robin", 1, 1, 1, 1), nil, nil)
	for a, n := range counts(t, p, 4000, nil) {
		if n != 1000 {
			t.Errorf("%s got %d of 4000", a, n)
		}
	}
}

func TestSmoothWeightedSequence(t *testing.T) {
	p := NewPool(svc("weighted_round_robin", 5, 1, 1), nil, nil)
	var seq []string
	for i := 0; i < 7; i++ {
		in, _ := p.Pick("", nil)
		seq = append(seq, map[string]string{"10.0.0.1:80": "a", "10.0.0.2:80": "b", "10.0.0.3:80": "c"}[in.Addr])
	}
	// nginx's smooth WRR: interleaved, never a burst of five a's
	if got := strings.Join(seq, ""); got != "aabacaa" {
		t.Fatalf("sequence %s, want aabacaa", got)
	}
	c := counts(t, p, 7000, nil)
	if c["10.0.0.1:80"] != 5000 || c["10.0.0.2:80"] != 1000 || c["10.0.0.3:80"] != 1000 {
		t.Fatalf("weighted counts %v", c)
	}
}

func TestLeastConnPrefersIdle(t *testing.T) {
	p := NewPool(svc("least_conn", 1, 1, 1), nil, nil)
	busy := p.Instance("10.0.0.1:80")
	for i := 0; i < 5; i++ {
		p.Begin(busy)
	}
	c := counts(t, p, 300, nil)
	if c["10.0.0.1:80"] != 0 || c["10.0.0.2:80"] != 150 || c["10.0.0.3:80"] != 150 {
		t.Fatalf("least_conn with one busy instance: %v (ties must alternate)", c)
	}
	// large pools sample two: the busy ones get far less traffic
	ws := make([]int, 40)
	for i := range ws {
		ws[i] = 1
	}
	big := NewPool(svc("least_conn", ws...), nil, nil)
	for i, in := range big.Instances() {
		if i < 20 {
			for j := 0; j < 10; j++ {
				big.Begin(in)
			}
		}
	}
	busyPicks := 0
	for i := 0; i < 10000; i++ {
		in, _ := big.Pick("", nil)
		if in.InFlight() >= 10 {
			busyPicks++
		}
	}
	// both samples busy: 1/4 of the time at most
	if busyPicks > 3000 {
		t.Fatalf("P2C picked a busy instance %d of 10000 times", busyPicks)
	}
}

func TestConsistentHashRemap(t *testing.T) {
	five := NewPool(svc("consistent_hash", 1, 1, 1, 1, 1), nil, nil)
	six := NewPool(svc("consistent_hash", 1, 1, 1, 1, 1, 1), five, nil)
	const keys = 20000
	moved := 0
	dist := map[string]int{}
	for i := 0; i < keys; i++ {
		k := fmt.Sprintf("client-%d", i)
		a, b := five.Owner(k), six.Owner(k)
		if a.Addr != b.Addr {
			moved++
			if b.Addr != "10.0.0.6:80" {
				t.Fatalf("key %s moved between old instances", k)
			}
		}
		dist[a.Addr]++
	}
	frac := float64(moved) / keys
	t.Logf("5 -> 6 instances: %.1f%% of %d keys remapped (ideal %.1f%%)", 100*frac, keys, 100.0/6)
	if math.Abs(frac-1.0/6) > 0.05 {
		t.Fatalf("remapped fraction %.3f, want about 1/6", frac)
	}
	for a, n := range dist {
		if n < keys/5*7/10 || n > keys/5*13/10 {
			t.Errorf("%s owns %d of %d keys (uneven ring)", a, n, keys)
		}
	}
	// the same key always lands on the same instance
	r1, _ := five.Pick("alice", nil)
	r2, _ := five.Pick("alice", nil)
	if r1 != r2 {
		t.Fatal("same key, different instance")
	}
	// HashKey reads the configured source
	req, _ := http.NewRequest("GET", "/", nil)
	req.RemoteAddr = "192.0.2.7:5555"
	if k := five.HashKey(req); k != "192.0.2.7" {
		t.Fatalf("client_ip key %q", k)
	}
	h := svc("consistent_hash", 1, 1)
	h.HashOn = "header:X-User"
	req.Header.Set("X-User", "u42")
	if k := NewPool(h, nil, nil).HashKey(req); k != "u42" {
		t.Fatalf("header key %q", k)
	}
}

func TestOutlierEjectionBackoffAndCap(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	s := svc("round_robin", 1, 1, 1, 1)
	s.Outlier = config.Outlier{ConsecutiveFailures: 2, BaseEjection: config.Duration(10 * time.Second), MaxEjection: config.Duration(25 * time.Second), MaxEjectedPercent: 50}
	p := NewPool(s, nil, clk.now)
	bad := p.Instance("10.0.0.1:80")
	fail := func(in *Instance) { p.Begin(in); p.Done(in, true, 0) }
	fail(bad)
	fail(bad)
	if p.State(bad) != Unhealthy {
		t.Fatal("not ejected after 2 failures")
	}
	if c := counts(t, p, 300, nil); c[bad.Addr] != 0 {
		t.Fatalf("ejected instance picked: %v", c)
	}
	clk.add(11 * time.Second)
	if p.State(bad) == Unhealthy {
		t.Fatal("still ejected after the first backoff")
	}
	fail(bad)
	fail(bad)
	clk.add(11 * time.Second)
	if p.State(bad) != Unhealthy {
		t.Fatal("second ejection did not grow")
	}
	clk.add(10 * time.Second)
	fail(bad)
	fail(bad) // third: 30s, capped at 25s
	clk.add(26 * time.Second)
	if p.State(bad) == Unhealthy {
		t.Fatal("ejection not capped at max_ejection")
	}
	// the cap on the ejected share: two of four at most
	for _, in := range p.Instances() {
		fail(in)
		fail(in)
	}
	ejected := 0
	for _, in := range p.Instances() {
		if p.State(in) == Unhealthy {
			ejected++
		}
	}
	if ejected != 2 {
		t.Fatalf("%d of 4 ejected, cap is 50%%", ejected)
	}
	// counts returned to zero on every path
	for _, in := range p.Instances() {
		if in.InFlight() != 0 {
			t.Fatalf("%s in flight %d", in.Addr, in.InFlight())
		}
	}
}

func TestNoHealthyAndPanicMode(t *testing.T) {
	s := svc("round_robin", 1, 1, 1, 1)
	p := NewPool(s, nil, nil)
	for _, in := range p.Instances() {
		in.markChecked(Unhealthy, time.Now())
	}
	if _, err := p.Pick("", nil); err != ErrNoHealthy {
		t.Fatalf("all unhealthy: %v", err)
	}
	s.PanicThreshold = 50
	pp := NewPool(s, p, nil)
	pp.Instance("10.0.0.1:80").markChecked(Healthy, time.Now())
	// one of four healthy (25% < 50%): panic spreads traffic over all
	if c := counts(t, pp, 400, nil); len(c) != 4 {
		t.Fatalf("panic mode: %v", c)
	}
	// disabled and draining instances stay out even in panic mode
	pp.Instance("10.0.0.2:80").SetDraining(true)
	pp.Instance("10.0.0.3:80").SetDisabled(true)
	if c := counts(t, pp, 400, nil); c["10.0.0.2:80"]+c["10.0.0.3:80"] != 0 {
		t.Fatalf("drained or disabled picked: %v", c)
	}
}

func TestSlowStartAndDegraded(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	s := svc("round_robin", 1, 1)
	s.SlowStart = config.Duration(100 * time.Second)
	p := NewPool(s, nil, clk.now)
	clk.add(200 * time.Second)
	fresh := p.Instance("10.0.0.2:80")
	fresh.markChecked(Unhealthy, clk.now())
	fresh.markChecked(Healthy, clk.now()) // back now: ramps from 10%
	c := counts(t, p, 1100, nil)
	if c[fresh.Addr] > 150 {
		t.Fatalf("a just-recovered instance got %d of 1100", c[fresh.Addr])
	}
	clk.add(100 * time.Second)
	if c := counts(t, p, 1000, nil); c[fresh.Addr] != 500 {
		t.Fatalf("after the window: %v", c)
	}

	// degraded: latency 10x the pool's gets a quarter of its share
	d := NewPool(svc("round_robin", 1, 1), nil, nil)
	slow, fast := d.Instance("10.0.0.1:80"), d.Instance("10.0.0.2:80")
	for i := 0; i < 50; i++ {
		d.Begin(fast)
		d.Done(fast, false, time.Millisecond)
	}
	for i := 0; i < 5; i++ {
		d.Begin(slow)
		d.Done(slow, false, 100*time.Millisecond)
	}
	if d.State(slow) != Degraded || d.State(fast) == Degraded {
		t.Fatalf("states: slow %v fast %v", d.State(slow), d.State(fast))
	}
	cc := counts(t, d, 1000, nil)
	if cc[slow.Addr] != 200 {
		t.Fatalf("degraded share: %v (want 1:4)", cc)
	}
}

func TestRetryAvoidsPreviousInstance(t *testing.T) {
	p := NewPool(svc("consistent_hash", 1, 1, 1), nil, nil)
	first, _ := p.Pick("k", nil)
	for i := 0; i < 20; i++ {
		again, _ := p.Pick("k", first)
		if again == first {
			t.Fatal("retry went to the same instance")
		}
	}
}

// backend is a health-check target whose answer the test controls.
type backend struct {
	mode atomic.Value // "ok", "fail", "hang"
	addr string
}

func newBackend(t *testing.T) *backend {
	b := &backend{}
	b.mode.Store("ok")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	b.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch b.mode.Load() {
		case "fail":
			w.WriteHeader(503)
		case "hang":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

func TestActiveHealthChecks(t *testing.T) {
	a, b := newBackend(t), newBackend(t)
	s := config.Service{Name: "s", Instances: []config.Instance{{Address: a.addr}, {Address: b.addr}},
		HealthCheck: &config.HealthCheck{Interval: config.Duration(30 * time.Millisecond), Timeout: config.Duration(20 * time.Millisecond),
			HealthyThreshold: 2, UnhealthyThreshold: 2}}
	c := config.Config{Services: []config.Service{s}}
	c.SetDefaults()
	p := NewPool(c.Services[0], nil, nil)
	p.Start(nil, "", 16)
	defer p.Stop()
	wait := func(in *Instance, want Health) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for p.State(in) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v, want %v (last check %v)", in.Addr, p.State(in), want, p.Info(in).LastCheck)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	ia, ib := p.Instance(a.addr), p.Instance(b.addr)
	wait(ia, Healthy)
	wait(ib, Healthy)
	b.mode.Store("fail")
	wait(ib, Unhealthy)
	if cc := counts(t, p, 100, nil); cc[b.addr] != 0 {
		t.Fatalf("unhealthy instance picked: %v", cc)
	}
	b.mode.Store("hang")
	time.Sleep(100 * time.Millisecond)
	if p.State(ib) != Unhealthy {
		t.Fatal("a hanging instance passed its checks")
	}
	b.mode.Store("ok")
	wait(ib, Healthy)
	if res := p.CheckNow(nil); !strings.HasPrefix(res[a.addr], "status 200") {
		t.Fatalf("check now: %v", res)
	}
}

func TestDNSDiscovery(t *testing.T) {
	d, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.SetA("api.test", "127.0.0.11", "127.0.0.12")
	d.SetTTL(0) // re-resolve at min_ttl
	s := config.Service{Name: "s", Discovery: &config.Discovery{DNS: "api.test", Port: 8080, MinTTL: config.Duration(20 * time.Millisecond)}}
	c := config.Config{Network: config.Network{Resolver: d.Addr}, Services: []config.Service{s}}
	c.SetDefaults()
	p := NewPool(c.Services[0], nil, nil)
	p.Start(nil, d.Addr, 16)
	defer p.Stop()
	waitAddrs := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for {
			var got []string
			for _, in := range p.Instances() {
				got = append(got, in.Addr)
			}
			if strings.Join(got, ",") == strings.Join(want, ",") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("instances %v, want %v (discovery %+v)", got, want, p.Discovery())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitAddrs("127.0.0.11:8080", "127.0.0.12:8080")
	keep := p.Instance("127.0.0.11:8080")
	p.Begin(keep) // a request in flight on an instance DNS keeps
	d.SetA("api.test", "127.0.0.11", "127.0.0.13")
	waitAddrs("127.0.0.11:8080", "127.0.0.13:8080")
	if p.Instance("127.0.0.11:8080") != keep || keep.InFlight() != 1 {
		t.Fatal("an instance kept by DNS lost its state")
	}
	// the resolver fails: the last answer stands
	d.SetA("api.test")
	time.Sleep(100 * time.Millisecond)
	waitAddrs("127.0.0.11:8080", "127.0.0.13:8080")
	if st := p.Discovery(); st == nil || !strings.Contains(st.LastError, "no such name") {
		t.Fatalf("discovery status %+v", st)
	}
	// bad packets raced ahead of the real answer are skipped
	d.Break("noise")
	d.SetA("api.test", "127.0.0.14")
	waitAddrs("127.0.0.14:8080")
	// only bad answers: an error is recorded, the last good answer stands
	for _, how := range []string{"servfail", "garbage"} {
		d.Break(how)
		d.SetA("api.test", "127.0.0.15")
		before := p.Discovery().LastError
		deadline := time.Now().Add(8 * time.Second)
		for p.Discovery().LastError == before && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		waitAddrs("127.0.0.14:8080")
		if st := p.Discovery(); !strings.Contains(st.LastError, map[string]string{"servfail": "RCodeServerFailure", "garbage": "malformed"}[how]) {
			t.Fatalf("answers %s: discovery status %+v", how, st)
		}
	}
	d.Break("")
	waitAddrs("127.0.0.15:8080")

	// SRV: targets and ports
	d.SetA("t1.test", "127.0.0.21")
	d.SetA("t2.test", "127.0.0.22")
	d.SetSRV("_http._tcp.api.test", map[string]uint16{"t1.test": 9001, "t2.test": 9002})
	s2 := config.Service{Name: "srv", Discovery: &config.Discovery{SRV: "_http._tcp.api.test", MinTTL: config.Duration(20 * time.Millisecond)}}
	c2 := config.Config{Network: config.Network{Resolver: d.Addr}, Services: []config.Service{s2}}
	c2.SetDefaults()
	p2 := NewPool(c2.Services[0], nil, nil)
	p2.Start(nil, d.Addr, 16)
	defer p2.Stop()
	deadline := time.Now().Add(3 * time.Second)
	for len(p2.Instances()) != 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if p2.Instance("127.0.0.21:9001") == nil || p2.Instance("127.0.0.22:9002") == nil {
		t.Fatalf("SRV instances: %v", p2.Discovery())
	}
	// a silent resolver times out rather than hangs
	dead, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer dead.Close()
	disc := newDiscovery(p, (&net.Dialer{}).DialContext, dead.LocalAddr().String(), 16)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := disc.query(ctx, "api.test", dnsmessage.TypeA); err == nil {
		t.Fatal("silent resolver: no error")
	}
}

func BenchmarkPick(b *testing.B) {
	for _, st := range []string{"round_robin", "weighted_round_robin", "least_conn", "consistent_hash"} {
		for _, n := range []int{4, 16} {
			ws := make([]int, n)
			for i := range ws {
				ws[i] = 1 + i%3
			}
			p := NewPool(svc(st, ws...), nil, nil)
			b.Run(fmt.Sprintf("%s/instances=%d", st, n), func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					in, err := p.Pick("client-42", nil)
					if err != nil {
						b.Fatal(err)
					}
					p.Begin(in)
					p.Done(in, false, time.Millisecond)
				}
			})
		}
	}
}
