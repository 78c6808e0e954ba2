package balance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// DialFunc dials an instance; net.Dialer.DialContext has this shape.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// checker runs a pool's active health checks: every interval, with up to a
// tenth of jitter so pools' probes do not align, it probes each current
// instance (discovery may change them) and counts consecutive results
// against the thresholds.
type checker struct {
	pool   *Pool
	client *http.Client
	lo, hi int
	loop   background // the probing loop
}

func newChecker(p *Pool, dial DialFunc) *checker {
	hc := p.cfg.HealthCheck
	lo, hi, _ := hc.ExpectRange()
	tr := &http.Transport{DialContext: dial, DisableKeepAlives: true, ResponseHeaderTimeout: hc.Timeout.D()}
	return &checker{pool: p, lo: lo, hi: hi, client: &http.Client{Transport: tr, Timeout: hc.Timeout.D(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *checker) start() { c.loop.start(c.run) }
func (c *checker) stop()  { c.loop.stop() }

func (c *checker) run(ctx context.Context) {
	every := c.pool.cfg.HealthCheck.Interval.D()
	// the first round at a random point of the first half interval
	wait := time.Duration(rand.Int64N(int64(every)/2 + 1))
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		var wg sync.WaitGroup
		for _, in := range c.pool.list() {
			wg.Add(1)
			go func() { defer wg.Done(); c.probe(ctx, in) }()
		}
		wg.Wait()
		wait = every + time.Duration(rand.Int64N(int64(every)/10+1))
	}
}

// probe runs one check and applies the thresholds; it returns the result.
func (c *checker) probe(ctx context.Context, in *Instance) string {
	hc := c.pool.cfg.HealthCheck
	ctx, cancel := context.WithTimeout(ctx, hc.Timeout.D())
	defer cancel()
	now := c.pool.now()
	result := ""
	ok := false
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+in.Addr+hc.Path, nil)
	req.Header.Set("User-Agent", "raygate-health-check")
	resp, err := c.client.Do(req)
	if err != nil {
		result = "error: " + shortErr(err)
	} else {
		resp.Body.Close()
		ok = resp.StatusCode >= c.lo && resp.StatusCode <= c.hi
		result = fmt.Sprintf("status %d", resp.StatusCode)
	}
	in.lastCheck.Store(now.UnixNano())
	res := fmt.Sprintf("%s at %s", result, now.UTC().Format("15:04:05"))
	in.lastCheckResult.Store(&res)
	if ok {
		in.badStreak.Store(0)
		if in.okStreak.Add(1) >= int32(hc.HealthyThreshold) || Health(in.checked.Load()) == Unknown {
			in.markChecked(Healthy, now)
		}
	} else {
		in.okStreak.Store(0)
		if in.badStreak.Add(1) >= int32(hc.UnhealthyThreshold) {
			in.markChecked(Unhealthy, now)
		}
	}
	return result
}

func shortErr(err error) string {
	var ne net.Error
	if e, ok := err.(interface{ Unwrap() error }); ok && e.Unwrap() != nil {
		err = e.Unwrap()
	}
	if ok := asNetErr(err, &ne); ok && ne.Timeout() {
		return "timeout"
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

func asNetErr(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

// CheckNow probes every instance of the pool at once and returns the results
// by address (the console's `balance check`).
func (p *Pool) CheckNow(dial DialFunc) map[string]string {
	c := p.checker
	if c == nil {
		if p.cfg.HealthCheck == nil {
			return nil
		}
		c = newChecker(p, dial)
	}
	out := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, in := range p.list() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.probe(context.Background(), in)
			mu.Lock()
			out[in.Addr] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}
