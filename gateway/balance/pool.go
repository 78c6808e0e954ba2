// Package balance picks the instance that serves each request: a Pool per
// service holds its instances' runtime state (in-flight counts, health from
// active checks and from outlier detection, latency, slow start, drain) and
// applies the service's strategy: round robin, least connections (power of
// two choices in large pools), smooth weighted round robin, or consistent
// hashing (a ring with virtual nodes) on the client address, a header or a
// cookie. It also runs the active health checks (checker.go) and DNS
// discovery (dns.go). It imports only the configuration.
package balance

import (
	"errors"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raygate/raygate/gateway/config"
)

// ErrNoHealthy is returned by Pick when no instance may take traffic.
var ErrNoHealthy = errors.New("no healthy instance")

// Health is an instance's or a pool's state.
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

// Instance is one backend's runtime state. It outlives configuration
// changes: a pool rebuilt with the same address keeps the same Instance.
type Instance struct {
	Addr string

	weight    atomic.Int32
	checked   atomic.Int32 // Health from active checks: Unknown, Healthy or Unhealthy
	okStreak  atomic.Int32
	badStreak atomic.Int32

	consecFail   atomic.Int32 // passive: consecutive failed requests
	ejectedUntil atomic.Int64 // unix nanoseconds; 0 when never ejected
	ejections    atomic.Int32
	upSince      atomic.Int64 // unix nanoseconds the instance (re)entered service, for slow start

	draining atomic.Bool
	disabled atomic.Bool

	latency  atomic.Int64 // EWMA of response-header latency, nanoseconds
	inflight atomic.Int64
	requests atomic.Uint64
	errors   atomic.Uint64

	lastCheck       atomic.Int64 // unix nanoseconds
	lastCheckResult atomic.Pointer[string]
}

// Weight returns the configured (or runtime) weight.
func (in *Instance) Weight() int { return int(in.weight.Load()) }

// InFlight returns the requests the instance is serving now.
func (in *Instance) InFlight() int64 { return in.inflight.Load() }

func (in *Instance) ejected(now int64) bool { return now < in.ejectedUntil.Load() }

// eligible reports whether the instance may take new requests.
func (in *Instance) eligible(now int64) bool {
	return !in.disabled.Load() && !in.draining.Load() && !in.ejected(now) && Health(in.checked.Load()) != Unhealthy
}

// Pool is a service's instances and strategy. Pick and Done are safe for
// concurrent use and take no lock except the weighted round robin's own.
type Pool struct {
	name  string
	cfg   config.Service
	now   func() time.Time
	insts atomic.Pointer[[]*Instance] // replaced whole by discovery
	ring  atomic.Pointer[hashRing]

	rr      atomic.Uint64
	wrrMu   sync.Mutex
	sw      map[*Instance]int // smooth WRR current weights; +checklocks:wrrMu
	poolLT  atomic.Int64      // latency baseline (rebase), for degraded detection
	samples atomic.Uint64

	checker *checker
	dns     *discovery
}

// NewPool builds a pool, reusing old's instances by address.
func NewPool(cfg config.Service, old *Pool, now func() time.Time) *Pool {
	if now == nil {
		now = time.Now
	}
	p := &Pool{name: cfg.Name, cfg: cfg, now: now}
	byAddr := map[string]*Instance{}
	if old != nil {
		for _, in := range old.list() {
			byAddr[in.Addr] = in
		}
		p.poolLT.Store(old.poolLT.Load())
	}
	var list []*Instance
	for _, ic := range cfg.Instances {
		list = append(list, p.instanceFor(byAddr, ic.Address, ic.W()))
	}
	if old != nil && old.cfg.Discovery != nil && cfg.Discovery != nil {
		// keep what discovery found until it answers again
		for _, in := range old.list() {
			if !hasAddr(cfg.Instances, in.Addr) {
				list = append(list, in)
			}
		}
	}
	p.setList(list)
	return p
}

func (p *Pool) list() []*Instance { return *p.insts.Load() }

func (p *Pool) setList(l []*Instance) {
	p.insts.Store(&l)
	p.ring.Store(newHashRing(l))
	p.wrrMu.Lock()
	p.sw = nil // departed instances must not linger in the weights
	p.wrrMu.Unlock()
}

func hasAddr(l []config.Instance, addr string) bool {
	for _, i := range l {
		if i.Address == addr {
			return true
		}
	}
	return false
}

func (p *Pool) instanceFor(byAddr map[string]*Instance, addr string, weight int) *Instance {
	in := byAddr[addr]
	if in == nil {
		in = &Instance{Addr: addr}
		in.upSince.Store(p.now().UnixNano())
	}
	in.weight.Store(int32(weight))
	return in
}

// Name returns the service's name.
func (p *Pool) Name() string { return p.name }

// Config returns the service's configuration.
func (p *Pool) Config() config.Service { return p.cfg }

// Instances returns the pool's instances.
func (p *Pool) Instances() []*Instance { return p.list() }

// Instance finds an instance by address.
func (p *Pool) Instance(addr string) *Instance {
	for _, in := range p.list() {
		if in.Addr == addr {
			return in
		}
	}
	return nil
}

// HashKey returns the consistent-hash key of a request ("" for other
// strategies).
func (p *Pool) HashKey(r *http.Request) string {
	if p.cfg.Strategy != "consistent_hash" {
		return ""
	}
	kind, name, _ := strings.Cut(p.cfg.HashOn, ":")
	switch kind {
	case "header":
		return r.Header.Get(name)
	case "cookie":
		if c, err := r.Cookie(name); err == nil {
			return c.Value
		}
		return ""
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// maxCandidates is the stack buffer for a pick; larger pools allocate.
const maxCandidates = 32

// Pick chooses an instance for a request with the given hash key; avoid
// (may be nil) is skipped while another candidate exists, so a retry goes
// elsewhere. With no eligible instance it returns ErrNoHealthy, unless the
// pool is in panic mode (fewer healthy than panic_threshold percent), where
// every enabled instance is a candidate.
func (p *Pool) Pick(key string, avoid *Instance) (*Instance, error) {
	now := p.now().UnixNano()
	all := p.list()
	var buf [maxCandidates]*Instance
	cands := buf[:0]
	for _, in := range all {
		if in.eligible(now) && in.Weight() > 0 {
			cands = append(cands, in)
		}
	}
	if t := p.cfg.PanicThreshold; t > 0 && len(cands)*100 < t*len(all) {
		cands = cands[:0]
		for _, in := range all {
			if !in.disabled.Load() && !in.draining.Load() {
				cands = append(cands, in)
			}
		}
	}
	if len(cands) > 1 && avoid != nil {
		for i, in := range cands {
			if in == avoid {
				cands = append(cands[:i], cands[i+1:]...)
				break
			}
		}
	}
	if len(cands) == 0 {
		return nil, ErrNoHealthy
	}
	var in *Instance
	switch p.cfg.Strategy {
	case "least_conn":
		in = p.leastConn(cands)
	case "consistent_hash":
		in = p.ring.Load().lookup(key, cands)
	case "weighted_round_robin":
		in = p.smooth(cands, now, true)
	default:
		in = p.smooth(cands, now, false)
	}
	return in, nil
}

// scale returns an instance's effective weight in hundredths: its weight
// (or 1), times the slow-start ramp, times a quarter when degraded.
func (p *Pool) scale(in *Instance, now int64, weighted bool) int {
	w := 100
	if weighted {
		w = 100 * in.Weight()
	}
	if ss := p.cfg.SlowStart.D(); ss > 0 {
		if up := time.Duration(now - in.upSince.Load()); up < ss {
			w = w * max(10, int(100*up/ss)) / 100
		}
	}
	if p.degraded(in) {
		w /= 4
	}
	return max(w, 1)
}

// degraded reports whether an instance's latency runs well above the pool's.
func (p *Pool) degraded(in *Instance) bool {
	f := p.cfg.DegradedFactor
	if f <= 0 || len(p.list()) < 2 {
		return false
	}
	mine, base := in.latency.Load(), p.poolLT.Load()
	return base > 0 && float64(mine) > f*float64(base) && time.Duration(mine-base) > degradedMinDelta
}

// degradedMinDelta keeps noise out: at sub-millisecond latencies a factor of
// three is jitter, not a degraded instance.
const degradedMinDelta = 10 * time.Millisecond

// rebase sets the pool's latency baseline: the lower median of its
// instances' latency averages, so one slow instance cannot drag the
// baseline it is measured against.
func (p *Pool) rebase() {
	all := p.list()
	var buf [maxCandidates]int64
	l := buf[:0]
	for _, in := range all {
		if v := in.latency.Load(); v > 0 {
			l = append(l, v)
		}
	}
	if len(l) < 2 {
		p.poolLT.Store(0)
		return
	}
	slices.Sort(l)
	p.poolLT.Store(l[(len(l)-1)/2])
}

// smooth is nginx's smooth weighted round robin: every pick adds each
// candidate's weight to its current weight, takes the largest and subtracts
// the total from it, so weights 5,1,1 give a a b a c a a, never a burst.
// With weighted false every weight is 1 (plain round robin, still shaped by
// slow start and degradation).
func (p *Pool) smooth(cands []*Instance, now int64, weighted bool) *Instance {
	p.wrrMu.Lock()
	defer p.wrrMu.Unlock()
	// The current weights are the pool's own: an instance kept across a
	// configuration change is shared with the previous pool.
	if p.sw == nil {
		p.sw = map[*Instance]int{}
	}
	total := 0
	var best *Instance
	bestW := 0
	for _, in := range cands {
		w := p.scale(in, now, weighted)
		cur := p.sw[in] + w
		p.sw[in] = cur
		total += w
		if best == nil || cur > bestW {
			best, bestW = in, cur
		}
	}
	p.sw[best] -= total
	return best
}

// leastConn picks the candidate with the fewest requests in flight relative
// to its weight. Small pools are scanned (ties go round the pool fairly);
// large ones sample two candidates at random and take the better (power of
// two choices), so the pick stays O(1).
func (p *Pool) leastConn(cands []*Instance) *Instance {
	load := func(in *Instance) float64 {
		return float64(in.inflight.Load()+1) / float64(max(in.Weight(), 1))
	}
	if len(cands) > 8 {
		a := cands[rand.IntN(len(cands))]
		b := cands[rand.IntN(len(cands)-1)]
		if b == a {
			b = cands[len(cands)-1]
		}
		if load(b) < load(a) {
			return b
		}
		return a
	}
	// the least loaded; ties take turns
	var buf [8]*Instance
	ties := buf[:0]
	least := math.MaxFloat64
	for _, in := range cands {
		switch l := load(in); {
		case l < least:
			least, ties = l, append(ties[:0], in)
		case l == least:
			ties = append(ties, in)
		}
	}
	return ties[p.rr.Add(1)%uint64(len(ties))]
}

// Begin marks a request started on in; call Done when it ends, on every
// path (the response body's Close, an error, a cancellation).
func (p *Pool) Begin(in *Instance) {
	in.requests.Add(1)
	in.inflight.Add(1)
}

// Done records a request's outcome: failed is a connection failure or a 5xx;
// latency is the time to response headers (0 when there was no response).
func (p *Pool) Done(in *Instance, failed bool, latency time.Duration) {
	in.inflight.Add(-1)
	if latency > 0 {
		ewma(&in.latency, int64(latency))
		// large pools re-derive the baseline every 16th response
		if n := p.samples.Add(1); len(p.list()) <= 16 || n%16 == 0 {
			p.rebase()
		}
	}
	if !failed {
		in.consecFail.Store(0)
		// Without active checks, a served request is the evidence of health.
		if p.cfg.HealthCheck == nil && Health(in.checked.Load()) == Unknown {
			in.checked.Store(int32(Healthy))
		}
		return
	}
	in.errors.Add(1)
	o := p.cfg.Outlier
	if o.ConsecutiveFailures <= 0 || in.consecFail.Add(1) < int32(o.ConsecutiveFailures) {
		return
	}
	now := p.now()
	// cap the share of the pool ejected at once
	all := p.list()
	ejected := 0
	for _, x := range all {
		if x.ejected(now.UnixNano()) {
			ejected++
		}
	}
	if (ejected+1)*100 > o.MaxEjectedPercent*len(all) {
		return
	}
	n := in.ejections.Add(1)
	d := time.Duration(n) * o.BaseEjection.D()
	if d > o.MaxEjection.D() {
		d = o.MaxEjection.D()
	}
	until := now.Add(d).UnixNano()
	in.ejectedUntil.Store(until)
	in.upSince.Store(until) // slow start begins when the ejection ends
	in.consecFail.Store(0)
}

func ewma(v *atomic.Int64, sample int64) {
	for {
		old := v.Load()
		next := sample
		if old != 0 {
			next = old + (sample-old)/5 // alpha 0.2
		}
		if v.CompareAndSwap(old, next) {
			return
		}
	}
}

// State is an instance's state for display.
func (p *Pool) State(in *Instance) Health {
	now := p.now().UnixNano()
	switch {
	case in.ejected(now) || Health(in.checked.Load()) == Unhealthy:
		return Unhealthy
	case p.degraded(in):
		return Degraded
	}
	return Health(in.checked.Load())
}

// Health aggregates the instances' states.
func (p *Pool) Health() Health {
	var healthy, unhealthy, unknown int
	all := p.list()
	for _, in := range all {
		switch p.State(in) {
		case Healthy:
			healthy++
		case Unhealthy:
			unhealthy++
		case Unknown:
			unknown++
		}
	}
	switch {
	case len(all) == 0 || unhealthy == len(all):
		return Unhealthy
	case unhealthy > 0:
		return Degraded
	case unknown == len(all):
		return Unknown
	}
	return Healthy
}

// hashRing is a consistent-hash ring: each instance owns virtual nodes in
// proportion to its weight, so adding or removing one of N instances moves
// about 1/N of the keys.
type hashRing struct {
	points []uint64
	owners []*Instance
}

const vnodesPerWeight = 160

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	x := h.Sum64()
	// fnv's low bits mix poorly for similar inputs; finish with a mixer
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func newHashRing(ins []*Instance) *hashRing {
	type point struct {
		h  uint64
		in *Instance
	}
	var pts []point
	for _, in := range ins {
		n := vnodesPerWeight * max(in.Weight(), 1)
		for v := 0; v < min(n, 4096); v++ {
			pts = append(pts, point{hash64(in.Addr + "#" + strconv.Itoa(v)), in})
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].h < pts[j].h })
	r := &hashRing{points: make([]uint64, len(pts)), owners: make([]*Instance, len(pts))}
	for i, p := range pts {
		r.points[i], r.owners[i] = p.h, p.in
	}
	return r
}

// lookup returns the first candidate clockwise from the key's point.
func (r *hashRing) lookup(key string, cands []*Instance) *Instance {
	if len(r.points) == 0 {
		return cands[0]
	}
	h := hash64(key)
	i := sort.Search(len(r.points), func(i int) bool { return r.points[i] >= h })
	for n := 0; n < len(r.points); n++ {
		owner := r.owners[(i+n)%len(r.points)]
		for _, c := range cands {
			if c == owner {
				return owner
			}
		}
	}
	return cands[0]
}

// Owner returns the instance a key maps to when every instance is eligible
// (for tests of the remapped fraction).
func (p *Pool) Owner(key string) *Instance { return p.ring.Load().lookup(key, p.list()) }

// SetDraining, SetDisabled change an instance's runtime state.
func (in *Instance) SetDraining(v bool) { in.draining.Store(v) }
func (in *Instance) SetDisabled(v bool) { in.disabled.Store(v) }

// InstanceInfo describes an instance for the console and the admin API.
type InstanceInfo struct {
	Address   string        `json:"address"`
	Weight    int           `json:"weight"`
	State     string        `json:"state"`
	Draining  bool          `json:"draining,omitempty"`
	Disabled  bool          `json:"disabled,omitempty"`
	InFlight  int64         `json:"in_flight"`
	Requests  uint64        `json:"requests"`
	Errors    uint64        `json:"errors"`
	Ejections int32         `json:"ejections"`
	Latency   time.Duration `json:"latency_ewma_ns"`
	LastCheck string        `json:"last_check,omitempty"`
}

// Info describes an instance.
func (p *Pool) Info(in *Instance) InstanceInfo {
	st := p.State(in).String()
	if in.ejected(p.now().UnixNano()) {
		st = "ejected"
	}
	ii := InstanceInfo{Address: in.Addr, Weight: in.Weight(), State: st, Draining: in.draining.Load(), Disabled: in.disabled.Load(),
		InFlight: in.inflight.Load(), Requests: in.requests.Load(), Errors: in.errors.Load(), Ejections: in.ejections.Load(),
		Latency: time.Duration(in.latency.Load())}
	if r := in.lastCheckResult.Load(); r != nil {
		ii.LastCheck = *r
	}
	return ii
}

// MarkChecked sets the active-check state directly (tests, and services
// without checks that an operator enables by hand).
func (in *Instance) markChecked(h Health, now time.Time) {
	old := Health(in.checked.Swap(int32(h)))
	if h == Healthy && old == Unhealthy {
		in.upSince.Store(now.UnixNano())
	}
}

// Start begins the pool's background work: active health checks and DNS
// discovery, as configured. dial reaches instances and the resolver.
func (p *Pool) Start(dial DialFunc, resolver string, maxInstances int) {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	}
	if p.cfg.HealthCheck != nil {
		p.checker = newChecker(p, dial)
		p.checker.start()
	}
	if p.cfg.Discovery != nil {
		p.dns = newDiscovery(p, dial, resolver, maxInstances)
		p.dns.start()
	}
}

// Stop ends the pool's background work and waits for it.
func (p *Pool) Stop() {
	if p.checker != nil {
		p.checker.stop()
	}
	if p.dns != nil {
		p.dns.stop()
	}
}
