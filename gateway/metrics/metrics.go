// Package metrics observes every exchange: per route (and, merged on read,
// per service) request and error counts by class and reason, bytes,
// in-flight requests, throughput over sliding 1, 10 and 60 second windows,
// and latency histograms for the total time, the upstream's time and the
// gateway's overhead (total minus upstream) with p50, p95, p99 and p999.
//
// Histograms are HdrHistogram (two significant figures: 1% relative error
// at most), split into shards chosen round-robin and merged on read, so
// recording takes a shard's lock, never a global one. Series are bounded:
// one per route (routes are bounded by the configuration), each with a fixed
// memory footprint. Reset starts a new window; lifetime totals stay.
//
// It exports Prometheus text (prometheus.go), a JSON snapshot (json.go), an
// access log (accesslog.go) and the apimetrics console command.
package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/raygate/raygate/gateway"
)

// Histogram bounds: 1 µs to 10 minutes, two significant figures.
const (
	histMin     = 1
	histMax     = int64(10 * time.Minute / time.Microsecond)
	histSigFigs = 2
	shards      = 2
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
}

var (
	_ gateway.Observer     = (*Metrics)(nil)
	_ gateway.RequestStage = (*Metrics)(nil)
)

// Options configure the stage.
type Options struct {
	// MaxSeries bounds the route series (default 1024).
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
		opts.MaxSeries = 1024
	}
	return &Metrics{now: opts.Now, maxSeries: opts.MaxSeries, started: opts.Now()}
}

// series is one route's figures.
type series struct {
	route, service string

	// lifetime totals
	requests atomic.Uint64
	class    [6]atomic.Uint64 // by status / 100 (index 0: no status)
	bytesIn  atomic.Uint64
	bytesOut atomic.Uint64
	inflight atomic.Int64
	reasons  sync.Map // gateway-generated problem kind -> *atomic.Uint64

	win atomic.Pointer[window]
}

// window is what Reset starts afresh.
type window struct {
	start    time.Time
	total    *shardedHist
	upstream *shardedHist
	overhead *shardedHist
	rate     rateRing
}

func newWindow(now time.Time) *window {
	return &window{start: now, total: newShardedHist(), upstream: newShardedHist(), overhead: newShardedHist()}
}

type shard struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
	_  [40]byte // keep shards on separate cache lines
}

type shardedHist struct {
	next   atomic.Uint32
	shards [shards]shard
}

func newShardedHist() *shardedHist {
	s := &shardedHist{}
	for i := range s.shards {
		s.shards[i].h = hdrhistogram.New(histMin, histMax, histSigFigs)
	}
	return s
}

func (s *shardedHist) record(d time.Duration) {
	v := int64(d / time.Microsecond)
	v = min(max(v, histMin), histMax)
	sh := &s.shards[s.next.Add(1)%shards]
	sh.mu.Lock()
	sh.h.RecordValue(v)
	sh.mu.Unlock()
}

// merged returns one histogram of every shard.
func (s *shardedHist) merged() *hdrhistogram.Histogram {
	out := hdrhistogram.New(histMin, histMax, histSigFigs)
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		out.Merge(sh.h)
		sh.mu.Unlock()
	}
	return out
}

// rateRing counts requests and errors per second over the last minute.
type rateRing struct {
	secs [60]struct {
		sec      atomic.Int64
		requests atomic.Uint64
		errors   atomic.Uint64
	}
}

func (r *rateRing) add(now time.Time, failed bool) {
	sec := now.Unix()
	b := &r.secs[sec%60]
	if old := b.sec.Load(); old != sec && b.sec.CompareAndSwap(old, sec) {
		b.requests.Store(0)
		b.errors.Store(0)
	}
	b.requests.Add(1)
	if failed {
		b.errors.Add(1)
	}
}

// over returns requests and errors per second over the last n full seconds.
func (r *rateRing) over(now time.Time, n int) (rps, eps float64) {
	cur := now.Unix()
	var req, errs uint64
	for i := range r.secs {
		b := &r.secs[i]
		s := b.sec.Load()
		if s < cur && s >= cur-int64(n) {
			req += b.requests.Load()
			errs += b.errors.Load()
		}
	}
	return float64(req) / float64(n), float64(errs) / float64(n)
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
	route := ex.Route
	if route == "" {
		route = "(no route)"
	}
	if counted, ok := ex.Values["metrics"].(*series); ok {
		counted.inflight.Add(-1)
	}
	service := ex.Service
	if service == "" {
		service = ex.RouteConfig().Service
	}
	s := m.seriesFor(route, service)
	if s == nil {
		m.overflow.Add(1)
	} else {
		now := m.now()
		total := now.Sub(ex.Start)
		s.requests.Add(1)
		s.class[min(max(ex.Status/100, 0), 5)].Add(1)
		s.bytesIn.Add(uint64(max(ex.BytesIn, 0)))
		s.bytesOut.Add(uint64(max(ex.BytesOut, 0)))
		if kind := ex.Problem; kind != "" {
			c, _ := s.reasons.LoadOrStore(kind, new(atomic.Uint64))
			c.(*atomic.Uint64).Add(1)
		}
		w := s.win.Load()
		w.total.record(total)
		if ex.Upstream > 0 {
			w.upstream.record(ex.Upstream)
			w.overhead.record(total - ex.Upstream)
		} else {
			w.overhead.record(total)
		}
		w.rate.add(now, ex.Status >= 500 || ex.Status == 0)
	}
	if m.AccessLog != nil {
		m.AccessLog.log(ex)
	}
}

// OnRequest implements gateway.RequestStage: the route's request is in
// flight until Observe.
func (m *Metrics) OnRequest(_ http.ResponseWriter, ex *gateway.Exchange) error {
	if s := m.seriesFor(ex.Route, ex.RouteConfig().Service); s != nil {
		s.inflight.Add(1)
		if ex.Values == nil {
			ex.Values = map[string]any{}
		}
		ex.Values["metrics"] = s
	}
	return nil
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
