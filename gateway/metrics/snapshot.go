package metrics

import (
	"runtime"
	"sort"
	"sync/atomic"
	"time"
)

// Latency summarises a histogram, in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min_ms"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

func summarise(h *snapshot) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if h.total == 0 {
		return Latency{}
	}
	return Latency{Count: int64(h.total), Min: ms(h.minUS), Mean: h.mean() / 1000, Max: ms(h.maxUS),
		P50: ms(h.quantile(0.50)), P95: ms(h.quantile(0.95)), P99: ms(h.quantile(0.99)), P999: ms(h.quantile(0.999))}
}

// Figures are one route's or service's numbers.
type Figures struct {
	Name      string            `json:"name"`
	Service   string            `json:"service,omitempty"`
	Requests  uint64            `json:"requests"`
	Classes   map[string]uint64 `json:"responses_by_class"`
	Reasons   map[string]uint64 `json:"gateway_errors_by_reason,omitempty"`
	ErrorRate float64           `json:"error_rate"` // 5xx (and no answer) over requests, lifetime
	BytesIn   uint64            `json:"bytes_in"`
	BytesOut  uint64            `json:"bytes_out"`
	InFlight  int64             `json:"in_flight"`
	RPS       [3]float64        `json:"rps_1s_10s_60s"`
	EPS       [3]float64        `json:"errors_per_s_1s_10s_60s"`
	Total     Latency           `json:"latency"`
	Upstream  Latency           `json:"upstream_latency"`
	Overhead  Latency           `json:"gateway_overhead"`
	Window    time.Time         `json:"window_start"`

	hTotal, hUp, hOver *snapshot
}

// Runtime are the Go runtime's figures.
type Runtime struct {
	HeapAlloc    uint64        `json:"heap_alloc_bytes"`
	HeapInuse    uint64        `json:"heap_inuse_bytes"`
	Sys          uint64        `json:"sys_bytes"`
	Goroutines   int           `json:"goroutines"`
	NumGC        uint32        `json:"gc_cycles"`
	LastGCPause  time.Duration `json:"gc_last_pause_ns"`
	TotalGCPause time.Duration `json:"gc_total_pause_ns"`
}

// Snapshot is everything at one instant, for the JSON endpoint, the
// dashboard and the console.
type Snapshot struct {
	Time     time.Time `json:"time"`
	Uptime   float64   `json:"uptime_seconds"`
	Routes   []Figures `json:"routes"`
	Services []Figures `json:"services"`
	Runtime  Runtime   `json:"runtime"`
	Overflow uint64    `json:"unrecorded_series_overflow"`
}

var classNames = []string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

func (m *Metrics) figures(s *series, now time.Time) Figures {
	w := s.win.Load()
	st, su, so := w.sums()
	f := Figures{Name: s.route, Service: s.service, Classes: map[string]uint64{}, Window: w.start,
		Requests: s.sum(func(c *counters) uint64 { return c.requests.Load() }),
		BytesIn:  s.sum(func(c *counters) uint64 { return c.bytesIn.Load() }),
		BytesOut: s.sum(func(c *counters) uint64 { return c.bytesOut.Load() }),
		InFlight: s.inFlight(),
		hTotal:   w.total.snapshot(st), hUp: w.upstream.snapshot(su), hOver: w.overhead.snapshot(so)}
	for i := range classNames {
		if n := s.sum(func(c *counters) uint64 { return c.class[i].Load() }); n > 0 {
			f.Classes[classNames[i]] = n
		}
	}
	s.reasons.Range(func(k, v any) bool {
		if f.Reasons == nil {
			f.Reasons = map[string]uint64{}
		}
		f.Reasons[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	for i, n := range []int{1, 10, 60} {
		f.RPS[i], f.EPS[i] = s.rates.over(n)
	}
	return f
}

func (f *Figures) finish() {
	if f.Requests > 0 {
		f.ErrorRate = float64(f.Classes["5xx"]+f.Classes["none"]) / float64(f.Requests)
	}
	f.Total, f.Upstream, f.Overhead = summarise(f.hTotal), summarise(f.hUp), summarise(f.hOver)
}

// add merges g into f (a service's figures are its routes' merged).
func (f *Figures) add(g Figures) {
	f.Requests += g.Requests
	for k, v := range g.Classes {
		f.Classes[k] += v
	}
	for k, v := range g.Reasons {
		if f.Reasons == nil {
			f.Reasons = map[string]uint64{}
		}
		f.Reasons[k] += v
	}
	f.BytesIn += g.BytesIn
	f.BytesOut += g.BytesOut
	f.InFlight += g.InFlight
	for i := range f.RPS {
		f.RPS[i] += g.RPS[i]
		f.EPS[i] += g.EPS[i]
	}
	f.hTotal.merge(g.hTotal)
	f.hUp.merge(g.hUp)
	f.hOver.merge(g.hOver)
	if f.Window.IsZero() || g.Window.Before(f.Window) {
		f.Window = g.Window
	}
}

// Snapshot collects every series and the runtime's figures.
func (m *Metrics) Snapshot() Snapshot {
	now := m.now()
	snap := Snapshot{Time: now, Uptime: now.Sub(m.started).Seconds(), Overflow: m.overflow.Load()}
	byService := map[string]*Figures{}
	m.series.Range(func(_, v any) bool {
		f := m.figures(v.(*series), now)
		name := f.Service
		if name == "" {
			name = "(direct)"
		}
		sf := byService[name]
		if sf == nil {
			sf = &Figures{Name: name, Classes: map[string]uint64{}, hTotal: &snapshot{}, hUp: &snapshot{}, hOver: &snapshot{}}
			byService[name] = sf
		}
		sf.add(f)
		f.finish()
		snap.Routes = append(snap.Routes, f)
		return true
	})
	for _, sf := range byService {
		sf.finish()
		snap.Services = append(snap.Services, *sf)
	}
	sort.Slice(snap.Routes, func(i, j int) bool { return snap.Routes[i].Name < snap.Routes[j].Name })
	sort.Slice(snap.Services, func(i, j int) bool { return snap.Services[i].Name < snap.Services[j].Name })
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	snap.Runtime = Runtime{HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, Sys: ms.Sys, Goroutines: runtime.NumGoroutine(),
		NumGC: ms.NumGC, TotalGCPause: time.Duration(ms.PauseTotalNs)}
	if ms.NumGC > 0 {
		snap.Runtime.LastGCPause = time.Duration(ms.PauseNs[(ms.NumGC+255)%256])
	}
	return snap
}
