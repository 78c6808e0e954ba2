package config

import (
	"fmt"
	"slices"
	"time"
)

func (r *Resilience) setDefaults() {
	d := func(v *Duration, def time.Duration) {
		if *v == 0 {
			*v = Duration(def)
		}
	}
	n := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	for i := range r.Policies {
		p := &r.Policies[i]
		if b := p.Breaker; b != nil {
			n(&b.ConsecutiveFailures, 5)
			n(&b.FailureRate, 50)
			d(&b.Window, 10*time.Second)
			n(&b.MinRequests, 20)
			n(&b.SlowRate, 80)
			d(&b.Open, 5*time.Second)
			d(&b.MaxOpen, time.Minute)
			n(&b.HalfOpenRequests, 3)
			if len(b.On) == 0 {
				b.On = []string{"connect", "timeout", "5xx"}
			}
		}
		if rt := p.Retry; rt != nil {
			n(&rt.Attempts, 3)
			d(&rt.Backoff, 25*time.Millisecond)
			if rt.Multiplier == 0 {
				rt.Multiplier = 2
			}
			d(&rt.MaxBackoff, time.Second)
			if len(rt.OnStatus) == 0 {
				rt.OnStatus = []int{502, 503, 504}
			}
			if len(rt.Methods) == 0 {
				rt.Methods = []string{"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
			}
			n(&rt.BufferBytes, 64<<10)
			n(&rt.BudgetPercent, 20)
			n(&rt.BudgetMinPerSecond, 3)
		}
		if bh := p.Bulkhead; bh != nil {
			d(&bh.QueueTimeout, time.Second)
		}
	}
	for i := range r.RateLimits {
		l := &r.RateLimits[i]
		if l.Algorithm == "" {
			l.Algorithm = "token_bucket"
		}
		d(&l.Period, time.Second)
		n(&l.Burst, l.Requests)
		if l.Key == "" {
			l.Key = "client_ip"
		}
		n(&l.MaxKeys, 10000)
	}
}

func (c *Config) validateResilience() error {
	r := &c.Resilience
	policies := map[string]bool{}
	for i, p := range r.Policies {
		at := fmt.Sprintf("resilience.policies[%d]", i)
		if err := validName(p.Name); err != nil {
			return errorf(at+".name", "%v", err)
		}
		if policies[p.Name] {
			return errorf(at+".name", "policy %q defined twice", p.Name)
		}
		policies[p.Name] = true
		if b := p.Breaker; b != nil {
			for j, on := range b.On {
				if !slices.Contains([]string{"connect", "timeout", "5xx"}, on) {
					return errorf(fmt.Sprintf("%s.breaker.on[%d]", at, j), "%q is not connect, timeout or 5xx", on)
				}
			}
			if b.FailureRate > 100 || b.SlowRate < 0 || b.SlowRate > 100 {
				return errorf(at+".breaker", "rates are percentages (0..100)")
			}
			if b.Open > b.MaxOpen {
				return errorf(at+".breaker.open", "exceeds max_open")
			}
			if b.HalfOpenRequests < 1 {
				return errorf(at+".breaker.half_open_requests", "must be at least 1")
			}
		}
		if rt := p.Retry; rt != nil {
			if rt.Attempts < 1 || rt.Attempts > 10 {
				return errorf(at+".retry.attempts", "%d is outside 1..10", rt.Attempts)
			}
			if rt.Multiplier < 1 {
				return errorf(at+".retry.multiplier", "must be at least 1")
			}
			if rt.BudgetPercent < 0 || rt.BudgetPercent > 100 {
				return errorf(at+".retry.budget_percent", "%d is outside 0..100", rt.BudgetPercent)
			}
			for j, st := range rt.OnStatus {
				if st < 400 || st > 599 {
					return errorf(fmt.Sprintf("%s.retry.on_status[%d]", at, j), "%d is not a 4xx or 5xx status", st)
				}
			}
		}
		if bh := p.Bulkhead; bh != nil && (bh.MaxConcurrent < 1 || bh.Queue < 0) {
			return errorf(at+".bulkhead", "max_concurrent must be at least 1 and queue not negative")
		}
	}
	limits := map[string]bool{}
	for i, l := range r.RateLimits {
		at := fmt.Sprintf("resilience.rate_limits[%d]", i)
		if err := validName(l.Name); err != nil {
			return errorf(at+".name", "%v", err)
		}
		if limits[l.Name] {
			return errorf(at+".name", "rate limit %q defined twice", l.Name)
		}
		limits[l.Name] = true
		switch {
		case l.Requests < 1:
			return errorf(at+".requests", "must be at least 1")
		case l.Algorithm != "token_bucket" && l.Algorithm != "sliding_window":
			return errorf(at+".algorithm", "%q is not token_bucket or sliding_window", l.Algorithm)
		case !slices.Contains([]string{"client_ip", "api_key", "subject", "route"}, l.Key):
			return errorf(at+".key", "%q is not client_ip, api_key, subject or route", l.Key)
		case l.Burst < 1:
			return errorf(at+".burst", "must be at least 1")
		}
	}
	for i, s := range c.Services {
		if s.Resilience != "" && !policies[s.Resilience] {
			return errorf(fmt.Sprintf("services[%d].resilience", i), "no policy named %q", s.Resilience)
		}
	}
	for i, rt := range c.Routes {
		if rt.RateLimit != "" && !limits[rt.RateLimit] {
			return errorf(fmt.Sprintf("routes[%d].rate_limit", i), "no rate limit named %q", rt.RateLimit)
		}
		if rt.Criticality != "" && !slices.Contains([]string{"low", "normal", "critical"}, rt.Criticality) {
			return errorf(fmt.Sprintf("routes[%d].criticality", i), "%q is not low, normal or critical", rt.Criticality)
		}
	}
	if sh := r.Shedding; sh != nil && sh.MaxInFlight < 1 {
		return errorf("resilience.shedding.max_in_flight", "must be at least 1")
	}
	return nil
}
