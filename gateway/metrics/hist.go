package metrics

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a high-dynamic-range histogram of microseconds with atomic
// counters, recorded without a lock. It is log-linear like HdrHistogram:
// values below 64 have a bucket each; above, every power of two is cut into
// 64 buckets, so a bucket is at most 1/64 of its values wide and the
// midpoint reported for a percentile is within 0.8% of any value in it.
// A histogram takes 12.8 KB.
//
// It is our own rather than hdrhistogram-go because recording is on every
// request's path: that library's histogram needs a lock around each record
// (it is not safe for concurrent use), which cost 130 ns a request here, and
// several times that with cores contending.
// The sum of the values is kept by the caller, in its per-core shards.
type hist struct {
	counts [histBuckets]atomic.Uint64
	min    atomic.Int64 // 0 when empty
	max    atomic.Int64
}

const (
	subBits     = 6
	subCount    = 1 << subBits
	histMaxUS   = int64(10 * time.Minute / time.Microsecond)
	histBuckets = (31 - subBits + 1) * subCount // values below 2^31 µs
)

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1
	return (e+1)*subCount + int(v>>uint(e)) - subCount
}

// bounds returns the values a bucket holds, inclusive.
func bounds(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	e := i/subCount - 1
	sub := int64(i%subCount + subCount)
	return sub << uint(e), (sub+1)<<uint(e) - 1
}

// record adds d and returns it in microseconds, as counted.
func (h *hist) record(d time.Duration) int64 {
	v := int64(d / time.Microsecond)
	v = min(max(v, 1), histMaxUS)
	h.counts[bucketOf(uint64(v))].Add(1)
	for {
		m := h.min.Load()
		if (m != 0 && m <= v) || h.min.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.max.Load()
		if m >= v || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	return v
}

// snapshot is a plain copy of a histogram, for reading and merging.
type snapshot struct {
	counts       [histBuckets]uint64
	total, sum   uint64
	minUS, maxUS int64
}

func (h *hist) snapshot(sum uint64) *snapshot {
	s := &snapshot{sum: sum, minUS: h.min.Load(), maxUS: h.max.Load()}
	for i := range h.counts {
		s.counts[i] = h.counts[i].Load()
		s.total += s.counts[i]
	}
	return s
}

func (s *snapshot) merge(o *snapshot) {
	for i := range s.counts {
		s.counts[i] += o.counts[i]
	}
	s.total += o.total
	s.sum += o.sum
	if o.minUS != 0 && (s.minUS == 0 || o.minUS < s.minUS) {
		s.minUS = o.minUS
	}
	s.maxUS = max(s.maxUS, o.maxUS)
}

// quantile returns the value (µs) at q in 0..1: the midpoint of the bucket
// holding the q-th value, clamped to the observed extremes.
func (s *snapshot) quantile(q float64) int64 {
	if s.total == 0 {
		return 0
	}
	rank := uint64(q*float64(s.total) + 0.5)
	rank = min(max(rank, 1), s.total)
	var seen uint64
	for i, c := range s.counts {
		if seen += c; seen >= rank {
			lo, hi := bounds(i)
			return min(max((lo+hi)/2, s.minUS), s.maxUS)
		}
	}
	return s.maxUS
}

// countBelow returns how many values are at most us (for Prometheus
// buckets; exact to the bucket).
func (s *snapshot) countBelow(us int64) uint64 {
	var n uint64
	for i, c := range s.counts {
		if c == 0 {
			continue
		}
		if _, hi := bounds(i); hi <= us {
			n += c
		}
	}
	return n
}

func (s *snapshot) mean() float64 {
	if s.total == 0 {
		return 0
	}
	return float64(s.sum) / float64(s.total)
}
