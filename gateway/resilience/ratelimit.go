package resilience

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/config"
)

// limiter is one named rate limit: a bounded table of keys (route plus
// client address, API key or subject), each a token bucket
// (golang.org/x/time/rate) or a sliding-window counter (the usual
// two-window approximation). Idle keys expire; a full table sheds the
// least recently used.
type limiter struct {
	cfg config.RateLimit
	now func() time.Time

	mu   sync.Mutex
	keys map[string]*limitKey

	allowed  atomic.Uint64
	rejected atomic.Uint64
}

type limitKey struct {
	bucket *rate.Limiter
	// sliding window
	windowStart time.Time
	curr, prev  int
	last        time.Time
}

func newLimiter(c config.RateLimit, now func() time.Time) *limiter {
	return &limiter{cfg: c, now: now, keys: map[string]*limitKey{}}
}

// take admits one request for key; it returns the remaining quota and, on
// refusal, how long until a request would be admitted.
func (l *limiter) take(key string) (ok bool, remaining int, wait time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.keys[key]
	if k == nil {
		if len(l.keys) >= l.cfg.MaxKeys {
			l.evictLocked(now)
		}
		k = &limitKey{windowStart: now.Truncate(l.cfg.Period.D())}
		if l.cfg.Algorithm == "token_bucket" {
			k.bucket = rate.NewLimiter(rate.Limit(float64(l.cfg.Requests)/l.cfg.Period.D().Seconds()), l.cfg.Burst)
		}
		l.keys[key] = k
	}
	k.last = now
	if k.bucket != nil {
		r := k.bucket.ReserveN(now, 1)
		if d := r.DelayFrom(now); d > 0 {
			r.CancelAt(now)
			l.rejected.Add(1)
			return false, 0, d
		}
		l.allowed.Add(1)
		return true, int(k.bucket.TokensAt(now)), 0
	}
	// sliding window: this window's count plus the previous one's, weighted
	// by how much of it still overlaps
	period := l.cfg.Period.D()
	start := now.Truncate(period)
	switch {
	case start.Sub(k.windowStart) >= 2*period:
		k.prev, k.curr = 0, 0
	case start.After(k.windowStart):
		k.prev, k.curr = k.curr, 0
	}
	k.windowStart = start
	overlap := 1 - float64(now.Sub(start))/float64(period)
	estimate := float64(k.prev)*overlap + float64(k.curr)
	if estimate+1 > float64(l.cfg.Requests) {
		l.rejected.Add(1)
		return false, 0, start.Add(period).Sub(now)
	}
	k.curr++
	l.allowed.Add(1)
	return true, int(math.Max(0, float64(l.cfg.Requests)-estimate-1)), 0
}

func (l *limiter) evictLocked(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for key, k := range l.keys {
		if now.Sub(k.last) > 2*l.cfg.Period.D() {
			delete(l.keys, key)
			continue
		}
		if oldestKey == "" || k.last.Before(oldest) {
			oldestKey, oldest = key, k.last
		}
	}
	if len(l.keys) >= l.cfg.MaxKeys {
		delete(l.keys, oldestKey)
	}
}

// CompileRoute implements gateway.RouteCompiler: the route's limiter.
func (r *Resilience) CompileRoute(rt *config.Route) (any, error) {
	if rt.RateLimit == "" {
		return nil, nil
	}
	l := r.limits[rt.RateLimit]
	if l == nil {
		return nil, fmt.Errorf("no rate limit named %q", rt.RateLimit)
	}
	return l, nil
}

// OnRequest implements gateway.RequestStage: the route's rate limit, with
// the IETF RateLimit-Policy and RateLimit headers, and 429 with
// Retry-After when it is exceeded.
func (r *Resilience) OnRequest(w http.ResponseWriter, ex *gateway.Exchange) error {
	if r.cfg.Shedding != nil {
		if err := r.shedding(ex); err != nil {
			return err
		}
		r.shed.inflight.Add(1)
		if ex.Values == nil {
			ex.Values = map[string]any{}
		}
		ex.Values["resilience.counted"] = true
	}
	l, _ := ex.RouteData(r).(*limiter)
	if l == nil {
		return nil
	}
	key := ex.Route + "|"
	switch l.cfg.Key {
	case "client_ip":
		key += ex.RemoteIP()
	case "api_key":
		if ex.Identity != nil && ex.Identity.KeyID != "" {
			key += ex.Identity.KeyID
		} else {
			key += "ip:" + ex.RemoteIP()
		}
	case "subject":
		if ex.Identity != nil && ex.Identity.Subject != "" {
			key += ex.Identity.Subject
		} else {
			key += "ip:" + ex.RemoteIP()
		}
	}
	ok, remaining, wait := l.take(key)
	secs := int(l.cfg.Period.D().Seconds())
	policy := strconv.Quote(l.cfg.Name) + ";q=" + strconv.Itoa(l.cfg.Requests) + ";w=" + strconv.Itoa(max(secs, 1))
	h := w.Header()
	h.Set("RateLimit-Policy", policy)
	reset := int(wait.Seconds() + 0.999)
	h.Set("RateLimit", strconv.Quote(l.cfg.Name)+";r="+strconv.Itoa(remaining)+";t="+strconv.Itoa(reset))
	if ok {
		return nil
	}
	return &gateway.Error{Status: http.StatusTooManyRequests, Kind: "rate-limited",
		Detail: fmt.Sprintf("rate limit %s exceeded", l.cfg.Name), Header: retryAfter(wait)}
}
