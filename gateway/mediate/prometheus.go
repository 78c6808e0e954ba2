package mediate

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the cache's and the schemas' counters to Prometheus.
func (m *Mediate) Collector() prometheus.Collector { return collector{m} }

type collector struct{ m *Mediate }

var (
	descCache = func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("raygate_cache_"+name, help, []string{"route"}, nil)
	}
	descHits        = descCache("hits_total", "Requests answered from the response cache (fresh or stale).")
	descMisses      = descCache("misses_total", "Cacheable requests the cache could not answer.")
	descStores      = descCache("stores_total", "Responses stored.")
	descEvictions   = descCache("evictions_total", "Entries evicted to keep the cache within its bounds.")
	descRevalidated = descCache("revalidations_total", "Stale entries refreshed by an upstream 304.")
	descEntries     = descCache("entries", "Entries held.")
	descBytes       = descCache("bytes", "Bytes held.")
	descValidations = prometheus.NewDesc("raygate_schema_validations_total", "Documents validated against a schema.", []string{"schema"}, nil)
	descFailures    = prometheus.NewDesc("raygate_schema_failures_total", "Documents that failed a schema.", []string{"schema"}, nil)
)

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHits, descMisses, descStores, descEvictions, descRevalidated, descEntries, descBytes, descValidations, descFailures} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.m.store.Stats()
	for route, r := range st.Routes {
		ch <- prometheus.MustNewConstMetric(descHits, prometheus.CounterValue, float64(r.Hits+r.StaleHits+r.Collapsed), route)
		ch <- prometheus.MustNewConstMetric(descMisses, prometheus.CounterValue, float64(r.Misses), route)
		ch <- prometheus.MustNewConstMetric(descStores, prometheus.CounterValue, float64(r.Stores), route)
		ch <- prometheus.MustNewConstMetric(descEvictions, prometheus.CounterValue, float64(r.Evictions), route)
		ch <- prometheus.MustNewConstMetric(descRevalidated, prometheus.CounterValue, float64(r.Revalidations), route)
		ch <- prometheus.MustNewConstMetric(descEntries, prometheus.GaugeValue, float64(r.Entries), route)
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(r.Bytes), route)
	}
	for name, s := range c.m.schemas {
		ch <- prometheus.MustNewConstMetric(descValidations, prometheus.CounterValue, float64(s.validations.Load()), name)
		ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(s.failures.Load()), name)
	}
}
