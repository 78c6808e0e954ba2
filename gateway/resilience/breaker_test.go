package resilience

import (
	"testing"
	"time"

	"github.com/raygate/raygate/gateway/config"
)

func breakerCfg() config.Breaker {
	c := config.Config{Resilience: config.Resilience{Policies: []config.Policy{{Name: "p", Breaker: &config.Breaker{
		ConsecutiveFailures: 3, FailureRate: 50, MinRequests: 10, Window: config.Duration(10 * time.Second),
		Open: config.Duration(5 * time.Second), MaxOpen: config.Duration(15 * time.Second), HalfOpenRequests: 2,
		SlowCall: config.Duration(time.Second), SlowRate: 80,
	}}}}}
	c.SetDefaults()
	return *c.Resilience.Policies[0].Breaker
}

// TestBreakerStateMachine walks the breaker through its states at fixed
// instants: each row is a call (or a look) at t0 plus an offset.
func TestBreakerStateMachine(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := NewBreaker("s", breakerCfg(), t0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	call := func(d time.Duration, failed bool) bool {
		gen, ok, _ := b.Allow(at(d))
		if ok {
			b.Record(gen, at(d), failed, false)
		}
		return ok
	}
	rows := []struct {
		at     time.Duration
		failed bool
		allow  bool
		state  State
	}{
		{0, true, true, Closed},
		{1 * time.Second, true, true, Closed},
		{2 * time.Second, true, true, Open}, // third consecutive failure trips
		{3 * time.Second, false, false, Open},
		{6 * time.Second, false, false, Open},    // 4s into a 5s open
		{7 * time.Second, false, true, HalfOpen}, // first probe succeeds
		{7 * time.Second, false, true, Closed},   // second probe closes it
		{8 * time.Second, true, true, Closed},
		{8 * time.Second, true, true, Closed},
		{8 * time.Second, true, true, Open}, // trips again (5s: it had closed since)
		{12 * time.Second, false, false, Open},
		{13 * time.Second, true, true, Open}, // the probe fails: reopens for 10s
		{22 * time.Second, false, false, Open},
		{23 * time.Second, true, true, Open}, // fails again: 20s, capped at 15s
		{37 * time.Second, false, false, Open},
		{38 * time.Second, false, true, HalfOpen},
	}
	for i, r := range rows {
		if got := call(r.at, r.failed); got != r.allow {
			t.Fatalf("row %d at +%s: allowed %v, want %v (state %s)", i, r.at, got, r.allow, b.state)
		}
		if b.state != r.state {
			t.Fatalf("row %d at +%s: state %s, want %s", i, r.at, b.state, r.state)
		}
	}
	gen, ok, _ := b.Allow(at(38 * time.Second)) // the second probe, still out
	if !ok {
		t.Fatal("second probe refused")
	}
	_ = gen
	if _, ok, left := b.Allow(at(38 * time.Second)); ok || left <= 0 {
		t.Fatalf("half-open admits only %d probes", breakerCfg().HalfOpenRequests)
	}
}

func TestBreakerFailureRateAndSlowCalls(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	cfg := breakerCfg()
	cfg.ConsecutiveFailures = -1
	b := NewBreaker("s", cfg, t0)
	// alternate success and failure: 50% over 10 calls trips at the 10th
	for i := 0; i < 10; i++ {
		gen, ok, _ := b.Allow(t0.Add(time.Duration(i) * 100 * time.Millisecond))
		if !ok {
			t.Fatalf("call %d refused before the minimum volume", i)
		}
		b.Record(gen, t0.Add(time.Duration(i)*100*time.Millisecond), i%2 == 0, false)
	}
	if b.state != Open {
		t.Fatalf("state %s after 50%% failures", b.state)
	}
	// old failures leave the rolling window
	b2 := NewBreaker("s", cfg, t0)
	for i := 0; i < 9; i++ {
		gen, _, _ := b2.Allow(t0)
		b2.Record(gen, t0, true, false)
	}
	for i := 0; i < 10; i++ {
		now := t0.Add(11*time.Second + time.Duration(i)*time.Millisecond)
		gen, _, _ := b2.Allow(now)
		b2.Record(gen, now, false, false)
	}
	if b2.state != Closed {
		t.Fatalf("failures older than the window tripped it")
	}
	// slow calls trip it too
	b3 := NewBreaker("s", cfg, t0)
	for i := 0; i < 10; i++ {
		gen, _, _ := b3.Allow(t0)
		b3.Record(gen, t0, false, i < 8)
	}
	if b3.state != Open {
		t.Fatalf("80%% slow calls: %s", b3.state)
	}
	// a result from before a state change is ignored
	b4 := NewBreaker("s", cfg, t0)
	gen, _, _ := b4.Allow(t0)
	b4.Trip(t0)
	b4.Reset(t0)
	b4.Record(gen, t0, true, false)
	if info := b4.Info(t0); info.Volume != 0 {
		t.Fatalf("stale result counted: %+v", info)
	}
}
