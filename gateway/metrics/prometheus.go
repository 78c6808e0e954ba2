package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Prometheus metric names follow the conventions: raygate_ prefix, base
// units (seconds, bytes), _total on counters. Labels are route and service
// names from the configuration (bounded), never request data.
var (
	descRequests = prometheus.NewDesc("raygate_requests_total", "Requests served, by route.", []string{"route", "service"}, nil)
	descClass    = prometheus.NewDesc("raygate_responses_total", "Responses, by status class (none: no answer reached the client).", []string{"route", "service", "class"}, nil)
	descReasons  = prometheus.NewDesc("raygate_gateway_errors_total", "Errors the gateway itself answered, by problem type.", []string{"route", "service", "reason"}, nil)
	descBytesIn  = prometheus.NewDesc("raygate_request_body_bytes_total", "Request body bytes read.", []string{"route", "service"}, nil)
	descBytesOut = prometheus.NewDesc("raygate_response_body_bytes_total", "Response body bytes written.", []string{"route", "service"}, nil)
	descInFlight = prometheus.NewDesc("raygate_requests_in_flight", "Requests being served.", []string{"route", "service"}, nil)
	descDuration = prometheus.NewDesc("raygate_request_duration_seconds", "Total request time (since the last reset).", []string{"route", "service"}, nil)
	descTotalQ   = prometheus.NewDesc("raygate_request_latency_seconds", "Total request time percentiles (since the last reset).", []string{"route", "service"}, nil)
	descUpQ      = prometheus.NewDesc("raygate_upstream_latency_seconds", "Upstream time to response headers, percentiles (since the last reset).", []string{"route", "service"}, nil)
	descOverQ    = prometheus.NewDesc("raygate_gateway_overhead_seconds", "Gateway overhead (total minus upstream), percentiles (since the last reset).", []string{"route", "service"}, nil)
	descOverflow = prometheus.NewDesc("raygate_metrics_series_overflow_total", "Exchanges not recorded because the series table was full.", nil, nil)
)

// DurationBuckets are the histogram's bounds, in seconds.
var DurationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

var _ prometheus.Collector = (*Metrics)(nil)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descClass, descReasons, descBytesIn, descBytesOut, descInFlight,
		descDuration, descTotalQ, descUpQ, descOverQ, descOverflow} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	snap := m.Snapshot()
	for _, f := range snap.Routes {
		l := []string{f.Name, f.Service}
		ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(f.Requests), l...)
		for class, n := range f.Classes {
			ch <- prometheus.MustNewConstMetric(descClass, prometheus.CounterValue, float64(n), f.Name, f.Service, class)
		}
		for reason, n := range f.Reasons {
			ch <- prometheus.MustNewConstMetric(descReasons, prometheus.CounterValue, float64(n), f.Name, f.Service, reason)
		}
		ch <- prometheus.MustNewConstMetric(descBytesIn, prometheus.CounterValue, float64(f.BytesIn), l...)
		ch <- prometheus.MustNewConstMetric(descBytesOut, prometheus.CounterValue, float64(f.BytesOut), l...)
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(f.InFlight), l...)
		ch <- histogram(descDuration, f.hTotal, l)
		ch <- summary(descTotalQ, f.hTotal, l)
		ch <- summary(descUpQ, f.hUp, l)
		ch <- summary(descOverQ, f.hOver, l)
	}
	ch <- prometheus.MustNewConstMetric(descOverflow, prometheus.CounterValue, float64(snap.Overflow))
}

func histogram(d *prometheus.Desc, h *snapshot, labels []string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(DurationBuckets))
	for _, b := range DurationBuckets {
		buckets[b] = h.countBelow(int64(b * 1e6))
	}
	return prometheus.MustNewConstHistogram(d, h.total, float64(h.sum)/1e6, buckets, labels...)
}

func summary(d *prometheus.Desc, h *snapshot, labels []string) prometheus.Metric {
	q := map[float64]float64{}
	for _, p := range []float64{0.5, 0.95, 0.99, 0.999} {
		q[p] = float64(h.quantile(p)) / 1e6
	}
	return prometheus.MustNewConstSummary(d, h.total, float64(h.sum)/1e6, q, labels...)
}
