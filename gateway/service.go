package gateway

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/raygate/raygate/gateway/config"
)

// Health is an instance's or a service's health state.
type Health int32

// Health states.
const (
	Unknown Health = iota
	Healthy
	Degraded
	Unhealthy
)

func (h Health) String() string {
	return [...]string{"unknown", "healthy", "degraded", "unhealthy"}[h]
}

// unhealthyAfter is how many consecutive connection failures mark an
// instance unhealthy (passive health; active checks come with balancing).
const unhealthyAfter = 3

// liveInstance is an instance's runtime state. It outlives snapshots: a
// service that is changed keeps the state of the instances it still has.
type liveInstance struct {
	addr   string
	weight int

	health   atomic.Int32
	failures atomic.Int32 // consecutive
	inflight atomic.Int64
	requests atomic.Uint64
	errors   atomic.Uint64
}

// liveService is a service's runtime state.
type liveService struct {
	name      string
	cfg       config.Service
	instances []*liveInstance
	// ring is the smooth weighted round-robin order (each instance index
	// repeated by weight, interleaved), walked by next.
	ring []int
	next atomic.Uint64

	requests atomic.Uint64
	errors   atomic.Uint64
}

func newService(cfg config.Service, old *liveService) *liveService {
	s := &liveService{name: cfg.Name, cfg: cfg}
	byAddr := map[string]*liveInstance{}
	if old != nil {
		for _, in := range old.instances {
			byAddr[in.addr] = in
		}
		s.requests.Store(old.requests.Load())
		s.errors.Store(old.errors.Load())
	}
	for _, ic := range cfg.Instances {
		in := byAddr[ic.Address]
		if in == nil || in.weight != ic.W() {
			fresh := &liveInstance{addr: ic.Address, weight: ic.W()}
			if in != nil {
				fresh.health.Store(in.health.Load())
			}
			in = fresh
		}
		s.instances = append(s.instances, in)
	}
	s.ring = smoothWeights(s.instances)
	return s
}

// smoothWeights lays out one cycle of smooth weighted round robin (as nginx
// does): weights 5,1,1 give a a b a c a a, not a a a a a b c.
func smoothWeights(ins []*liveInstance) []int {
	total := 0
	for _, in := range ins {
		total += in.weight
	}
	cur := make([]int, len(ins))
	ring := make([]int, 0, total)
	for n := 0; n < total; n++ {
		best := -1
		for i, in := range ins {
			if in.weight == 0 {
				continue
			}
			cur[i] += in.weight
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		ring = append(ring, best)
	}
	return ring
}

// pick chooses the next instance in weighted round-robin order, skipping
// unhealthy ones while any other is not unhealthy.
func (s *liveService) pick(avoid *liveInstance) *liveInstance {
	n := len(s.ring)
	start := s.next.Add(1) - 1
	var fallback *liveInstance
	for i := 0; i < n; i++ {
		in := s.instances[s.ring[(start+uint64(i))%uint64(n)]]
		if in == avoid && len(s.instances) > 1 {
			continue
		}
		if Health(in.health.Load()) == Unhealthy {
			if fallback == nil {
				fallback = in
			}
			continue
		}
		return in
	}
	if fallback != nil {
		return fallback
	}
	return s.instances[s.ring[start%uint64(n)]]
}

// health aggregates the instances' states.
func (s *liveService) health() Health {
	var healthy, unhealthy, unknown int
	for _, in := range s.instances {
		switch Health(in.health.Load()) {
		case Healthy:
			healthy++
		case Unhealthy:
			unhealthy++
		case Unknown:
			unknown++
		}
	}
	switch {
	case unhealthy == len(s.instances):
		return Unhealthy
	case unhealthy > 0:
		return Degraded
	case unknown == len(s.instances):
		return Unknown
	}
	return Healthy
}

func (in *liveInstance) succeeded() {
	in.failures.Store(0)
	in.health.Store(int32(Healthy))
}

func (in *liveInstance) failed() {
	in.errors.Add(1)
	if in.failures.Add(1) >= unhealthyAfter {
		in.health.Store(int32(Unhealthy))
	}
}

// balancer is the innermost transport stage: for every attempt it picks an
// instance of the exchange's service and points the request at it. An
// attempt that is a retry avoids the instance the previous one used.
type balancer struct {
	next         http.RoundTripper
	preserveHost bool
}

var errNoExchange = errors.New("gateway: upstream request without an exchange")

func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := FromContext(req.Context())
	if ex == nil || ex.svc == nil {
		return nil, errNoExchange
	}
	var prev *liveInstance
	if ex.Instance != "" {
		for _, in := range ex.svc.instances {
			if in.addr == ex.Instance {
				prev = in
			}
		}
	}
	in := ex.svc.pick(prev)
	ex.Instance = in.addr
	ex.Attempts++
	out := req.Clone(req.Context())
	out.URL.Host = in.addr
	if !b.preserveHost {
		out.Host = in.addr
	}
	in.requests.Add(1)
	in.inflight.Add(1)
	resp, err := b.next.RoundTrip(out)
	if err != nil {
		in.inflight.Add(-1)
		if req.Context().Err() == nil {
			in.failed()
		}
		return nil, err
	}
	in.succeeded()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The body is the tunnel (an io.ReadWriteCloser the proxy needs
		// as is); the request is done as far as the pool is concerned.
		in.inflight.Add(-1)
		return resp, nil
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, done: func() { in.inflight.Add(-1) }}
	return resp, nil
}

// doneBody calls done once, when the body is closed: an instance's request
// is in flight until its response has been streamed, on every path.
type doneBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *doneBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}
