// Package resilience keeps one failing backend from taking the gateway, or
// the other backends, down with it: per service, a circuit breaker
// (breaker.go), retries with exponential backoff, full jitter and a budget,
// a bulkhead, and an overall timeout, wrapped around the upstream round
// trip; per route, rate limits (ratelimit.go). State lives in the Resilience
// value and survives configuration changes.
package resilience

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/balance"
	"github.com/raygate/raygate/gateway/config"
)

// Resilience is the stage. Create it with New, pass it in Options.Stages
// after auth.
type Resilience struct {
	cfg      config.Resilience
	now      func() time.Time
	mu       sync.Mutex
	services map[string]*serviceState // by service name, created on first use
	limits   map[string]*limiter      // by rate limit name
	shed     shedder
	// Log reports breaker state changes (default log.Printf: the console
	// in the image, stderr in hosted mode).
	Log func(format string, args ...any)
}

var (
	_ gateway.TransportStage = (*Resilience)(nil)
	_ gateway.RequestStage   = (*Resilience)(nil)
	_ gateway.RouteCompiler  = (*Resilience)(nil)
)

// New builds the stage.
func New(cfg config.Resilience, now func() time.Time) *Resilience {
	if now == nil {
		now = time.Now
	}
	r := &Resilience{cfg: cfg, now: now, services: map[string]*serviceState{}, limits: map[string]*limiter{}, Log: log.Printf}
	for _, l := range cfg.RateLimits {
		r.limits[l.Name] = newLimiter(l, now)
	}
	return r
}

// Name implements gateway.RequestStage and gateway.TransportStage.
func (*Resilience) Name() string { return "resilience" }

// serviceState is one service's breaker, bulkhead and retry budget.
type serviceState struct {
	name    string
	policy  config.Policy
	breaker *Breaker
	bulk    *bulkhead
	budget  *budget

	attempts atomic.Uint64
	retries  atomic.Uint64
	denied   atomic.Uint64 // retries the budget refused
}

func (r *Resilience) state(service, policy string) *serviceState {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.services[service]
	if s != nil && s.policy.Name == policy {
		return s
	}
	var p config.Policy
	for _, c := range r.cfg.Policies {
		if c.Name == policy {
			p = c
		}
	}
	s = &serviceState{name: service, policy: p}
	if p.Breaker != nil {
		s.breaker = NewBreaker(service, *p.Breaker, r.now())
		s.breaker.onChange = func(from, to State, openFor time.Duration) {
			if to == Open {
				r.Log("resilience: breaker %s %s -> %s for %s", service, from, to, openFor)
			} else {
				r.Log("resilience: breaker %s %s -> %s", service, from, to)
			}
		}
	}
	if p.Bulkhead != nil {
		s.bulk = newBulkhead(*p.Bulkhead)
	}
	if p.Retry != nil {
		s.budget = &budget{percent: p.Retry.BudgetPercent, minPerSec: p.Retry.BudgetMinPerSecond}
	}
	r.services[service] = s
	return s
}

// WrapTransport implements gateway.TransportStage.
func (r *Resilience) WrapTransport(next http.RoundTripper) http.RoundTripper {
	return &transport{r: r, next: next}
}

type transport struct {
	r    *Resilience
	next http.RoundTripper
}

var errRetryBody = errors.New("resilience: request body not replayable")

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := gateway.FromContext(req.Context())
	if ex == nil {
		return t.next.RoundTrip(req)
	}
	policy := ex.ServiceConfig().Resilience
	if policy == "" {
		return t.next.RoundTrip(req)
	}
	s := t.r.state(ex.Service, policy)
	p := s.policy

	// Everything the exchange holds (timeout, bulkhead slot) is released
	// when the response body is closed, or at once on failure.
	var release []func()
	done := func() {
		for _, f := range release {
			f()
		}
	}
	ctx := req.Context()
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout.D())
		release = append(release, cancel)
		req = req.WithContext(ctx)
	}
	if s.bulk != nil {
		if err := s.bulk.acquire(ctx); err != nil {
			done()
			return nil, &gateway.Error{Status: http.StatusServiceUnavailable, Kind: "bulkhead-full",
				Detail: fmt.Sprintf("service %s is at its concurrency limit", ex.Service), Header: retryAfter(time.Second), Err: err}
		}
		release = append(release, s.bulk.release)
	}
	if s.budget != nil {
		s.budget.request(t.r.now())
	}

	attempts := 1
	var body []byte
	if rt := p.Retry; rt != nil && slices.Contains(rt.Methods, req.Method) {
		attempts = rt.Attempts
		if req.Body != nil && req.Body != http.NoBody {
			if req.ContentLength < 0 || req.ContentLength > int64(rt.BufferBytes) {
				attempts = 1 // never retry a body we could not send again
			} else {
				b, err := io.ReadAll(io.LimitReader(req.Body, int64(rt.BufferBytes)+1))
				if err != nil || len(b) > rt.BufferBytes {
					done()
					return nil, err
				}
				body = b
			}
		}
	}

	var resp *http.Response
	var err error
	for attempt := 1; ; attempt++ {
		try := req
		var cancelTry context.CancelFunc
		if p.Retry != nil && p.Retry.PerTryTimeout > 0 {
			var tctx context.Context
			tctx, cancelTry = context.WithTimeout(ctx, p.Retry.PerTryTimeout.D())
			try = req.WithContext(tctx)
		}
		if body != nil {
			try.Body = io.NopCloser(bytes.NewReader(body))
			try.ContentLength = int64(len(body))
		}
		var gen uint64
		if s.breaker != nil {
			g, ok, left := s.breaker.Allow(t.r.now())
			if !ok {
				if cancelTry != nil {
					cancelTry()
				}
				done()
				if resp != nil {
					return resp, nil // the last real answer beats a refusal
				}
				return nil, &gateway.Error{Status: http.StatusServiceUnavailable, Kind: "circuit-open",
					Detail: fmt.Sprintf("service %s is failing; its circuit breaker is open", ex.Service), Header: retryAfter(left)}
			}
			gen = g
		}
		s.attempts.Add(1)
		start := t.r.now()
		resp, err = t.next.RoundTrip(try)
		kind := classify(resp, err, try.Context())
		if s.breaker != nil && kind != "cancelled" && kind != "unavailable" {
			slow := p.Breaker.SlowCall > 0 && t.r.now().Sub(start) > p.Breaker.SlowCall.D()
			s.breaker.Record(gen, t.r.now(), kind != "" && slices.Contains(p.Breaker.On, kind), slow)
		}
		retryable := attempt < attempts && ctx.Err() == nil && (kind == "connect" || kind == "timeout" ||
			(resp != nil && slices.Contains(p.Retry.OnStatus, resp.StatusCode)))
		if retryable && !s.budget.allow(t.r.now()) {
			s.denied.Add(1)
			retryable = false
		}
		if !retryable {
			if cancelTry != nil {
				release = append(release, cancelTry)
			}
			if err != nil {
				done()
				return nil, err
			}
			resp.Body = &releaseBody{ReadCloser: resp.Body, release: done}
			return resp, nil
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if cancelTry != nil {
			cancelTry()
		}
		s.retries.Add(1)
		if !sleep(ctx, backoff(p.Retry, attempt)) {
			done()
			return nil, ctx.Err()
		}
	}
}

// classify names an attempt's failure: connect, timeout, 5xx, cancelled
// (the client left: no fault of the upstream) or "" for success.
func classify(resp *http.Response, err error, ctx context.Context) string {
	if err != nil {
		var ne net.Error
		var oe *net.OpError
		switch {
		case errors.Is(err, context.Canceled) && ctx.Err() == context.Canceled:
			return "cancelled"
		case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
			return "timeout"
		case errors.As(err, &oe) && oe.Op == "dial":
			return "connect"
		}
		var ge *gateway.Error
		if errors.As(err, &ge) || errors.Is(err, balance.ErrNoHealthy) {
			return "unavailable" // the gateway's own refusal, not the upstream's
		}
		return "connect"
	}
	if resp.StatusCode >= 500 {
		return "5xx"
	}
	return ""
}

// backoff is exponential with full jitter: a random wait up to
// base * multiplier^(attempt-1), capped.
func backoff(r *config.Retry, attempt int) time.Duration {
	d := float64(r.Backoff.D())
	for i := 1; i < attempt; i++ {
		d *= r.Multiplier
	}
	d = min(d, float64(r.MaxBackoff.D()))
	return time.Duration(rand.Float64() * d)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func retryAfter(d time.Duration) http.Header {
	secs := int(d.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	return http.Header{"Retry-After": {strconv.Itoa(secs)}}
}

type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// budget caps retries at a share of requests over a rolling ten seconds,
// plus a small floor per second, so an outage cannot multiply the load.
type budget struct {
	percent, minPerSec int
	mu                 sync.Mutex
	secs               [10]struct {
		at                int64
		requests, retries int
	}
}

func (b *budget) slot(now time.Time) *struct {
	at                int64
	requests, retries int
} {
	sec := now.Unix()
	s := &b.secs[sec%10]
	if s.at != sec {
		s.at, s.requests, s.retries = sec, 0, 0
	}
	return s
}

func (b *budget) request(now time.Time) {
	b.mu.Lock()
	b.slot(now).requests++
	b.mu.Unlock()
}

// allow takes one retry from the budget if there is one.
func (b *budget) allow(now time.Time) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var requests, retries int
	for _, s := range b.secs {
		if now.Unix()-s.at < 10 {
			requests += s.requests
			retries += s.retries
		}
	}
	if retries >= requests*b.percent/100+b.minPerSec*10 {
		return false
	}
	b.slot(now).retries++
	return true
}

// bulkhead caps concurrent requests, with a bounded queue and a queue
// timeout; beyond that it refuses at once.
type bulkhead struct {
	slots    chan struct{}
	queue    atomic.Int64
	maxQueue int64
	timeout  time.Duration
	rejected atomic.Uint64
}

func newBulkhead(c config.Bulkhead) *bulkhead {
	return &bulkhead{slots: make(chan struct{}, c.MaxConcurrent), maxQueue: int64(c.Queue), timeout: c.QueueTimeout.D()}
}

var errBulkheadFull = errors.New("bulkhead full")

func (b *bulkhead) acquire(ctx context.Context) error {
	select {
	case b.slots <- struct{}{}:
		return nil
	default:
	}
	if b.queue.Add(1) > b.maxQueue {
		b.queue.Add(-1)
		b.rejected.Add(1)
		return errBulkheadFull
	}
	defer b.queue.Add(-1)
	t := time.NewTimer(b.timeout)
	defer t.Stop()
	select {
	case b.slots <- struct{}{}:
		return nil
	case <-t.C:
		b.rejected.Add(1)
		return errBulkheadFull
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *bulkhead) release() { <-b.slots }
