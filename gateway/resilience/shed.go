package resilience

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/raygate/raygate/gateway"
)

// Load shedding: the stage counts requests in flight through the gateway
// (OnRequest to Observe) and keeps an average of their duration. Under
// overload it answers 503 at once, low-criticality routes first, so the
// requests it keeps finish instead of all timing out together.
type shedder struct {
	inflight atomic.Int64
	latency  atomic.Int64 // EWMA of request duration, nanoseconds
	shed     atomic.Uint64
}

var _ gateway.Observer = (*Resilience)(nil)

func (r *Resilience) shedding(ex *gateway.Exchange) error {
	sh := r.cfg.Shedding
	if sh == nil {
		return nil
	}
	n := r.shed.inflight.Load() + 1 // with this request admitted
	crit := ex.RouteConfig().Criticality
	over := false
	switch crit {
	case "critical":
	case "low":
		over = n*5 > int64(sh.MaxInFlight)*4 || (sh.Latency > 0 && time.Duration(r.shed.latency.Load()) > sh.Latency.D())
	default:
		over = n > int64(sh.MaxInFlight)
	}
	if !over {
		return nil
	}
	r.shed.shed.Add(1)
	return &gateway.Error{Status: http.StatusServiceUnavailable, Kind: "overloaded",
		Detail: "the gateway is overloaded; try again shortly", Header: retryAfter(time.Second)}
}

// Observe implements gateway.Observer.
func (r *Resilience) Observe(ex *gateway.Exchange) {
	if r.cfg.Shedding == nil {
		return
	}
	if ex.Values != nil && ex.Values["resilience.counted"] == true {
		r.shed.inflight.Add(-1)
	}
	d := int64(time.Since(ex.Start))
	for {
		old := r.shed.latency.Load()
		next := d
		if old != 0 {
			next = old + (d-old)/10
		}
		if r.shed.latency.CompareAndSwap(old, next) {
			return
		}
	}
}
