package resilience

import (
	"sync"
	"time"

	"github.com/raygate/raygate/gateway/config"
)

// The breaker is our own rather than sony/gobreaker or failsafe-go: it needs
// a rolling (not cyclic) window for the failure and slow-call rates, an open
// time that doubles on repeated trips up to a cap, results classified by the
// transport (connect error, timeout, 5xx), and time passed in, so its tests
// are table rows at fixed instants. It keeps gobreaker's generation counter:
// a result from before a state change is ignored.

// State is a breaker's state.
type State int

// Breaker states.
const (
	Closed State = iota
	Open
	HalfOpen
)

func (s State) String() string { return [...]string{"closed", "open", "half-open"}[s] }

const buckets = 10 // the rolling window is cut into this many buckets

type bucket struct {
	start             time.Time
	total, fail, slow int
}

// Breaker is one circuit breaker; safe for concurrent use.
type Breaker struct {
	name string
	cfg  config.Breaker

	mu          sync.Mutex
	state       State
	generation  uint64
	since       time.Time // entered the current state
	openFor     time.Duration
	trips       int
	consecutive int
	window      [buckets]bucket
	probes      int // half-open attempts allowed so far
	probeOK     int
	changes     int
	rejected    uint64
	// onChange is told of every state change (outside the lock is not
	// needed: it must only log).
	onChange func(from, to State, openFor time.Duration)
}

// NewBreaker returns a closed breaker.
func NewBreaker(name string, cfg config.Breaker, now time.Time) *Breaker {
	return &Breaker{name: name, cfg: cfg, since: now, openFor: cfg.Open.D()}
}

func (b *Breaker) bucketFor(now time.Time) *bucket {
	width := b.cfg.Window.D() / buckets
	if width <= 0 {
		width = time.Second
	}
	start := now.Truncate(width)
	i := int(start.UnixNano()/int64(width)) % buckets
	bk := &b.window[i]
	if !bk.start.Equal(start) {
		*bk = bucket{start: start}
	}
	return bk
}

func (b *Breaker) sums(now time.Time) (total, fail, slow int) {
	oldest := now.Add(-b.cfg.Window.D())
	for _, bk := range b.window {
		if bk.start.After(oldest) {
			total += bk.total
			fail += bk.fail
			slow += bk.slow
		}
	}
	return
}

func (b *Breaker) setState(s State, now time.Time) {
	if b.state == s {
		return
	}
	from := b.state
	b.state, b.since = s, now
	b.generation++
	b.changes++
	b.probes, b.probeOK, b.consecutive = 0, 0, 0
	if s == Closed {
		b.window = [buckets]bucket{}
		b.trips = 0
		b.openFor = b.cfg.Open.D()
	}
	if b.onChange != nil {
		b.onChange(from, s, b.openFor)
	}
}

// Allow asks to make a call. It returns the generation to pass to Record,
// or ok false and how long until the breaker lets calls through again.
func (b *Breaker) Allow(now time.Time) (gen uint64, ok bool, retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open {
		if left := b.since.Add(b.openFor).Sub(now); left > 0 {
			b.rejected++
			return 0, false, left
		}
		b.setState(HalfOpen, now)
	}
	if b.state == HalfOpen {
		if b.probes >= b.cfg.HalfOpenRequests {
			b.rejected++
			return 0, false, time.Second
		}
		b.probes++
	}
	return b.generation, true, 0
}

// Record reports a call's result: failed counts against the breaker, slow
// is a call over the slow-call latency.
func (b *Breaker) Record(gen uint64, now time.Time, failed, slow bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.generation {
		return // from before a state change
	}
	switch b.state {
	case HalfOpen:
		if failed {
			b.trip(now)
			return
		}
		if b.probeOK++; b.probeOK >= b.cfg.HalfOpenRequests {
			b.setState(Closed, now)
		}
		return
	case Open:
		return
	}
	bk := b.bucketFor(now)
	bk.total++
	if failed {
		bk.fail++
		b.consecutive++
	} else {
		b.consecutive = 0
	}
	if slow {
		bk.slow++
	}
	c := b.cfg
	if c.ConsecutiveFailures > 0 && b.consecutive >= c.ConsecutiveFailures {
		b.trip(now)
		return
	}
	total, fail, slowN := b.sums(now)
	if total >= c.MinRequests && total > 0 {
		if c.FailureRate > 0 && fail*100 >= c.FailureRate*total {
			b.trip(now)
			return
		}
		if c.SlowCall > 0 && c.SlowRate > 0 && slowN*100 >= c.SlowRate*total {
			b.trip(now)
		}
	}
}

// trip opens the breaker; each repeated trip doubles the open time.
func (b *Breaker) trip(now time.Time) {
	if b.trips > 0 {
		b.openFor = min(2*b.openFor, b.cfg.MaxOpen.D())
	}
	b.trips++
	if b.state == Open {
		return
	}
	b.setState(Open, now)
}

// Trip opens the breaker by hand (an operator's `resilience trip`).
func (b *Breaker) Trip(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trip(now)
}

// Reset closes the breaker by hand.
func (b *Breaker) Reset(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.setState(Closed, now)
}

// BreakerInfo describes a breaker for the console and metrics.
type BreakerInfo struct {
	Name        string        `json:"name"`
	State       string        `json:"state"`
	FailureRate float64       `json:"failure_rate"`
	SlowRate    float64       `json:"slow_rate"`
	Volume      int           `json:"volume"`
	Trips       int           `json:"trips"`
	Changes     int           `json:"state_changes"`
	Rejected    uint64        `json:"rejected"`
	InState     time.Duration `json:"in_state"`
	OpenFor     time.Duration `json:"open_for"`
}

// Info describes the breaker at now.
func (b *Breaker) Info(now time.Time) BreakerInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	total, fail, slow := b.sums(now)
	bi := BreakerInfo{Name: b.name, State: b.state.String(), Volume: total, Trips: b.trips, Changes: b.changes,
		Rejected: b.rejected, InState: now.Sub(b.since), OpenFor: b.openFor}
	if total > 0 {
		bi.FailureRate = float64(fail) / float64(total)
		bi.SlowRate = float64(slow) / float64(total)
	}
	return bi
}
