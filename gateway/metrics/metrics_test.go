package metrics

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/shell"
)

// TestPercentileAccuracy records samples from several distributions and
// checks every reported percentile against the exact one of the raw
// samples: within 1% plus the 1 µs recording unit (the histogram's bound is
// 0.8%).
func TestPercentileAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dists := map[string]func() time.Duration{
		"uniform 1-100ms": func() time.Duration { return time.Duration(1e6 + r.Int64N(99e6)) },
		"bimodal 2ms/80ms": func() time.Duration {
			if r.IntN(10) < 8 {
				return time.Duration(r.NormFloat64()*2e5 + 2e6)
			}
			return time.Duration(r.NormFloat64()*5e6 + 80e6)
		},
		"long tail (Pareto)": func() time.Duration { return time.Duration(1e5 / math.Pow(r.Float64(), 1/1.2)) },
	}
	worst := 0.0
	for name, gen := range dists {
		h := &hist{}
		var raw []int64
		for i := 0; i < 200000; i++ {
			d := max(gen(), time.Microsecond)
			d = min(d, time.Duration(histMaxUS)*time.Microsecond)
			h.record(d)
			raw = append(raw, int64(d/time.Microsecond))
		}
		sort.Slice(raw, func(i, j int) bool { return raw[i] < raw[j] })
		m := h.snapshot(0)
		for _, q := range []float64{50, 95, 99, 99.9} {
			exact := raw[int(math.Ceil(q/100*float64(len(raw))))-1]
			got := m.quantile(q / 100)
			rel := math.Abs(float64(got-exact)) / float64(exact)
			worst = max(worst, rel)
			if math.Abs(float64(got-exact)) > 0.01*float64(exact)+1 {
				t.Errorf("%s p%g: reported %dµs, exact %dµs (%.2f%% off)", name, q, got, exact, 100*rel)
			}
		}
	}
	t.Logf("worst relative error over p50/p95/p99/p999 of 3 distributions, 200000 samples each: %.3f%%", 100*worst)
}

func exchange(route, service string, status int, total, upstream time.Duration, problem string) *gateway.Exchange {
	req := httptest.NewRequest("GET", "/x", nil)
	now := time.Now()
	return &gateway.Exchange{Request: req, Route: route, Service: service, Status: status, Start: now.Add(-total), End: now,
		Upstream: upstream, Problem: problem, BytesOut: 100}
}

func TestSnapshotPrometheusAndReset(t *testing.T) {
	m := New(Options{})
	for i := 0; i < 90; i++ {
		m.Observe(exchange("api", "svc", 200, 10*time.Millisecond, 8*time.Millisecond, ""))
	}
	for i := 0; i < 10; i++ {
		m.Observe(exchange("api", "svc", 502, 5*time.Millisecond, 0, "bad-gateway"))
	}
	m.Observe(exchange("", "", 404, time.Millisecond, 0, "no-route"))
	snap := m.Snapshot()
	var svc Figures
	for _, f := range snap.Services {
		if f.Name == "svc" {
			svc = f
		}
	}
	if svc.Requests != 100 || svc.Classes["5xx"] != 10 || svc.Reasons["bad-gateway"] != 10 || math.Abs(svc.ErrorRate-0.1) > 1e-9 {
		t.Fatalf("service figures: %+v", svc)
	}
	if svc.Total.Count != 100 || svc.Upstream.Count != 90 || svc.Total.P50 < 9.9 || svc.Total.P50 > 10.1 {
		t.Fatalf("latency: %+v / %+v", svc.Total, svc.Upstream)
	}
	if o := svc.Overhead; o.P50 < 1.9 || o.P50 > 2.1 {
		t.Fatalf("overhead p50 %.2fms, want about 2ms (total minus upstream)", o.P50)
	}

	// Prometheus: parses and lints clean
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	for _, name := range []string{"raygate_requests_total", "raygate_responses_total", "raygate_gateway_errors_total",
		"raygate_request_duration_seconds", "raygate_request_latency_seconds", "raygate_gateway_overhead_seconds"} {
		if families[name] == nil {
			t.Errorf("missing %s", name)
		}
	}
	problems, err := promlint.New(bytes.NewReader(rec.Body.Bytes())).Lint()
	if err != nil || len(problems) != 0 {
		t.Fatalf("promlint: %v %v", err, problems)
	}
	if !strings.Contains(body, `raygate_gateway_errors_total{reason="bad-gateway",route="api",service="svc"} 10`) {
		t.Errorf("reason counter missing:\n%s", body)
	}

	// reset: a new window, lifetime totals kept
	m.Reset()
	snap = m.Snapshot()
	for _, f := range snap.Services {
		if f.Name == "svc" && (f.Requests != 100 || f.Total.Count != 0) {
			t.Fatalf("after reset: requests %d (lifetime), window count %d", f.Requests, f.Total.Count)
		}
	}
}

func TestSeriesBounded(t *testing.T) {
	m := New(Options{MaxSeries: 3})
	for i := 0; i < 10; i++ {
		m.Observe(exchange(string(rune('a'+i)), "s", 200, time.Millisecond, 0, ""))
	}
	if n := len(m.Snapshot().Routes); n != 3 || m.overflow.Load() != 7 {
		t.Fatalf("%d series, %d overflow", n, m.overflow.Load())
	}
}

func TestApimetricsCommand(t *testing.T) {
	m := New(Options{})
	m.Observe(exchange("api", "svc", 200, 3*time.Millisecond, 2*time.Millisecond, ""))
	m.Observe(exchange("api", "svc", 429, time.Millisecond, 0, "rate-limited"))
	reg := shell.NewRegistry()
	m.RegisterCommands(reg)
	for _, c := range []struct {
		line, has string
		err       bool
	}{
		{"apimetrics services", "svc", false},
		{"apimetrics routes", "api", false},
		{"apimetrics latency svc", "overhead", false},
		{"apimetrics latency nope", "no traffic", true},
		{"apimetrics errors", "gateway: rate-limited", false},
		{"apimetrics reset", "lifetime totals kept", false},
		{"apimetrics top", "interactive", true},
		{"apimetrics bogus", "usage", true},
	} {
		var out bytes.Buffer
		err := reg.Exec(&out, c.line)
		if (err != nil) != c.err || !strings.Contains(out.String(), c.has) {
			t.Errorf("%s: %v\n%s", c.line, err, out.String())
		}
	}
	// top, with a console input: stops at the key press
	var out bytes.Buffer
	start := time.Now()
	if err := reg.ExecWith(strings.NewReader("q"), &out, "apimetrics top"); err != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("top: %v after %s", err, time.Since(start))
	}
	if !strings.Contains(out.String(), "svc") {
		t.Fatalf("top output:\n%s", out.String())
	}
}

// BenchmarkRecord is the per-request recording cost, from many goroutines
// (the exchange carries its end time: the gateway reads the clock once for
// every observer).
func BenchmarkRecord(b *testing.B) {
	m := New(Options{})
	// latencies spread as real traffic's are (a single repeated value
	// would have every core hit one histogram bucket)
	r := rand.New(rand.NewPCG(3, 4))
	var exs []*gateway.Exchange
	for i := 0; i < 256; i++ {
		up := time.Duration(500+r.IntN(20000)) * time.Microsecond
		exs = append(exs, exchange("api", "svc", 200, up+time.Duration(50+r.IntN(300))*time.Microsecond, up, ""))
	}
	m.Observe(exs[0])
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(exs))
		for pb.Next() {
			m.Observe(exs[i%len(exs)])
			i++
		}
	})
}
