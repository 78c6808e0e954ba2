// Package metrics observes every exchange: per route (and, merged on read,
// per service) request and error counts by class and reason, bytes,
// in-flight requests, throughput over sliding 1, 10 and 60 second windows,
// and latency histograms for the total time, the upstream's time and the
// gateway's overhead (total minus upstream) with p50, p95, p99 and p999.
//
// Histograms are high-dynamic-range and log-linear (hist.go: 0.8% relative
// error at most) with atomic counters, so recording takes no lock at all. Series are bounded:
// one per route (routes are bounded by the configuration), each with a fixed
// memory footprint. Reset starts a new window; lifetime totals stay.
//
// It exports Prometheus text (prometheus.go), a JSON snapshot (json.go), an
// access log (accesslog.go) and the apimetrics console command.
package metrics

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/config"
)

// Metrics is the observer stage.
type Metrics struct {
	now       func() time.Time
	maxSeries int
	started   time.Time

	series sync.Map // route name -> *series
	count  atomic.Int64
	// overflow counts exchanges not recorded because the series table was full
	overflow atomic.Uint64

	AccessLog *AccessLog

	stop chan struct{}
	once sync.Once
}

var (
	_ gateway.Observer      = (*Metrics)(nil)
	_ gateway.RequestStage  = (*Metrics)(nil)
	_ gateway.RouteCompiler = (*Metrics)(nil)
)

// Options configure the stage.
type Options struct {
	// MaxSeries bounds the route series (default 512, the default route
	// bound; a series takes about 42 KB).
	MaxSeries int
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// New returns the stage.
func New(opts Options) *Metrics {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxSeries == 0 {
		opts.MaxSeries = 512
	}
	m := &Metrics{now: opts.Now, maxSeries: opts.MaxSeries, started: opts.Now(), stop: make(chan struct{})}
	go m.sampler()
	return m
}

// nShards spreads a series' hot counters over cache lines, a shard picked
// at random per record, so cores rarely write the same line; reads add the
// shards up.
const nShards = 16

// series is one route's figures.
type series struct {
	route, service string
	shards         [nShards]counters
	reasons        sync.Map // gateway-generated problem kind -> *atomic.Uint64
	rates          rates

	win atomic.Pointer[window]
}

// counters are one shard's lifetime totals.
type counters struct {
	requests atomic.Uint64
	class    [6]atomic.Uint64 // by status / 100 (index 0: no status)
	bytesIn  atomic.Uint64
	bytesOut atomic.Uint64
	inflight atomic.Int64 // a shard's share may be negative: the sum is right
	_        [48]byte     // 128 bytes: shards never share a cache line
}

func (s *series) sum(f func(c *counters) uint64) uint64 {
	var n uint64
	for i := range s.shards {
		n += f(&s.shards[i])
	}
	return n
}

func (s *series) inFlight() int64 {
	var n int64
	for i := range s.shards {
		n += s.shards[i].inflight.Load()
	}
	return n
}

// window is what Reset starts afresh.
type window struct {
	start    time.Time
	total    hist
	upstream hist
	overhead hist
	shards   [nShards]windowShard
}

type windowShard struct {
	sumTotal, sumUp, sumOver atomic.Uint64 // microseconds
	_                        [40]byte
}

func (w *window) sums() (total, up, over uint64) {
	for i := range w.shards {
		total += w.shards[i].sumTotal.Load()
		up += w.shards[i].sumUp.Load()
		over += w.shards[i].sumOver.Load()
	}
	return
}

func newWindow(now time.Time) *window { return &window{start: now} }

// rates are sampled off the request path: once a second the sampler
// reads each series' cumulative counts, and rates are differences between
// samples, so recording a request writes nothing for them.
type rates struct {
	mu      sync.Mutex
	samples [61]struct {
		at               time.Time
		requests, errors uint64
	}
	next int
	n    int
}

func (r *rates) sample(at time.Time, requests, errors uint64) {
	r.mu.Lock()
	r.samples[r.next] = struct {
		at               time.Time
		requests, errors uint64
	}{at, requests, errors}
	r.next = (r.next + 1) % len(r.samples)
	r.n = min(r.n+1, len(r.samples))
	r.mu.Unlock()
}

// over returns requests and errors per second over the last n seconds of
// samples (fewer while the series is young).
func (r *rates) over(n int) (rps, eps float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n < 2 {
		return 0, 0
	}
	k := min(n, r.n-1)
	last := r.samples[(r.next-1+len(r.samples))%len(r.samples)]
	first := r.samples[(r.next-1-k+2*len(r.samples))%len(r.samples)]
	d := last.at.Sub(first.at).Seconds()
	if d <= 0 {
		return 0, 0
	}
	return float64(last.requests-first.requests) / d, float64(last.errors-first.errors) / d
}

// sampler feeds every series' rates once a second until Close.
func (m *Metrics) sampler() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			m.SampleRates(now)
		}
	}
}

// SampleRates takes one rate sample of every series (the sampler calls it
// every second; tests call it to drive time).
func (m *Metrics) SampleRates(now time.Time) {
	m.series.Range(func(_, v any) bool {
		s := v.(*series)
		req := s.sum(func(c *counters) uint64 { return c.requests.Load() })
		errs := s.sum(func(c *counters) uint64 { return c.class[5].Load() + c.class[0].Load() })
		s.rates.sample(now, req, errs)
		return true
	})
}

// Close stops the rate sampler.
func (m *Metrics) Close() {
	m.once.Do(func() { close(m.stop) })
}

func (m *Metrics) seriesFor(route, service string) *series {
	if s, ok := m.series.Load(route); ok {
		return s.(*series)
	}
	if m.count.Load() >= int64(m.maxSeries) {
		return nil
	}
	s := &series{route: route, service: service}
	s.win.Store(newWindow(m.now()))
	if actual, loaded := m.series.LoadOrStore(route, s); loaded {
		return actual.(*series)
	}
	m.count.Add(1)
	return s
}

// Name implements gateway stage naming.
func (*Metrics) Name() string { return "metrics" }

// Observe implements gateway.Observer: one exchange, recorded once.
func (m *Metrics) Observe(ex *gateway.Exchange) {
	s := m.seriesOf(ex)
	if s == nil {
		m.overflow.Add(1)
	} else {
		now := ex.End
		if now.IsZero() {
			now = m.now()
		}
		total := now.Sub(ex.Start)
		i := rand.Uint32() % nShards
		c := &s.shards[i]
		c.requests.Add(1)
		c.class[min(max(ex.Status/100, 0), 5)].Add(1)
		if ex.BytesIn > 0 {
			c.bytesIn.Add(uint64(ex.BytesIn))
		}
		if ex.BytesOut > 0 {
			c.bytesOut.Add(uint64(ex.BytesOut))
		}
		if ex.Routed() {
			c.inflight.Add(-1) // paired with OnRequest
		}
		if kind := ex.Problem; kind != "" {
			c, _ := s.reasons.LoadOrStore(kind, new(atomic.Uint64))
			c.(*atomic.Uint64).Add(1)
		}
		w := s.win.Load()
		ws := &w.shards[i]
		ws.sumTotal.Add(uint64(w.total.record(total)))
		if ex.Upstream > 0 {
			ws.sumUp.Add(uint64(w.upstream.record(ex.Upstream)))
			ws.sumOver.Add(uint64(w.overhead.record(total - ex.Upstream)))
		} else {
			ws.sumOver.Add(uint64(w.overhead.record(total)))
		}
	}
	if m.AccessLog != nil {
		m.AccessLog.log(ex)
	}
}

// OnRequest implements gateway.RequestStage: the route's request is in
// flight until Observe.
// The stage is first in the pipeline, so every routed exchange passes here
// and Observe can pair its decrement without per-request state.
func (m *Metrics) OnRequest(_ http.ResponseWriter, ex *gateway.Exchange) error {
	if s := m.seriesOf(ex); s != nil {
		s.shards[rand.Uint32()%nShards].inflight.Add(1)
	}
	return nil
}

// CompileRoute implements gateway.RouteCompiler: a route's series is found
// through the route itself, with no map lookup per request.
func (m *Metrics) CompileRoute(r *config.Route) (any, error) {
	return m.seriesFor(r.Name, r.Service), nil
}

func (m *Metrics) seriesOf(ex *gateway.Exchange) *series {
	if s, ok := ex.RouteData(m).(*series); ok && s != nil {
		return s
	}
	route := ex.Route
	if route == "" {
		route = "(no route)"
	}
	return m.seriesFor(route, ex.RouteService())
}

// Reset starts a new window on every series: histograms and rates start
// over, lifetime totals stay.
func (m *Metrics) Reset() {
	now := m.now()
	m.series.Range(func(_, v any) bool {
		v.(*series).win.Store(newWindow(now))
		return true
	})
}
