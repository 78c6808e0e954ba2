package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Strategies are the load-balancing strategies a service may use.
var Strategies = []string{"round_robin", "least_conn", "weighted_round_robin", "consistent_hash"}

func (s *Service) setDefaults() {
	if s.Strategy == "" {
		s.Strategy = "round_robin"
	}
	if s.Strategy == "consistent_hash" && s.HashOn == "" {
		s.HashOn = "client_ip"
	}
	if s.DegradedFactor == 0 {
		s.DegradedFactor = 3
	}
	if h := s.HealthCheck; h != nil {
		if h.Path == "" {
			h.Path = "/healthz"
		}
		if h.Interval == 0 {
			h.Interval = Duration(5 * time.Second)
		}
		if h.Timeout == 0 {
			h.Timeout = min(Duration(2*time.Second), h.Interval/2)
		}
		if h.Expect == "" {
			h.Expect = "200-399"
		}
		if h.HealthyThreshold == 0 {
			h.HealthyThreshold = 2
		}
		if h.UnhealthyThreshold == 0 {
			h.UnhealthyThreshold = 3
		}
	}
	o := &s.Outlier
	if o.ConsecutiveFailures == 0 {
		o.ConsecutiveFailures = 5
	}
	if o.BaseEjection == 0 {
		o.BaseEjection = Duration(10 * time.Second)
	}
	if o.MaxEjection == 0 {
		o.MaxEjection = Duration(5 * time.Minute)
	}
	if o.MaxEjectedPercent == 0 {
		o.MaxEjectedPercent = 50
	}
	if d := s.Discovery; d != nil {
		if d.MinTTL == 0 {
			d.MinTTL = Duration(5 * time.Second)
		}
		if d.MaxTTL == 0 {
			d.MaxTTL = Duration(5 * time.Minute)
		}
	}
}

// ExpectRange parses a health check's expected status range.
func (h *HealthCheck) ExpectRange() (lo, hi int, err error) {
	a, b, isRange := strings.Cut(h.Expect, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi = lo
	var err2 error
	if isRange {
		hi, err2 = strconv.Atoi(strings.TrimSpace(b))
	}
	if err1 != nil || err2 != nil || lo < 100 || hi > 599 || lo > hi {
		return 0, 0, fmt.Errorf("%q is not a status or a range like 200-399", h.Expect)
	}
	return lo, hi, nil
}

func (c *Config) validateBalancing(i int, s Service) error {
	at := fmt.Sprintf("services[%d]", i)
	if !slices.Contains(Strategies, s.Strategy) {
		return errorf(at+".strategy", "%q is not one of %s", s.Strategy, strings.Join(Strategies, ", "))
	}
	if s.HashOn != "" {
		if s.Strategy != "consistent_hash" {
			return errorf(at+".hash_on", "only consistent_hash uses hash_on")
		}
		kind, name, _ := strings.Cut(s.HashOn, ":")
		if !(s.HashOn == "client_ip" || (kind == "header" || kind == "cookie") && name != "") {
			return errorf(at+".hash_on", "%q is not client_ip, header:<name> or cookie:<name>", s.HashOn)
		}
	}
	if h := s.HealthCheck; h != nil {
		if !strings.HasPrefix(h.Path, "/") {
			return errorf(at+".health_check.path", "%q must start with /", h.Path)
		}
		if _, _, err := h.ExpectRange(); err != nil {
			return errorf(at+".health_check.expect", "%v", err)
		}
		if h.Timeout > h.Interval {
			return errorf(at+".health_check.timeout", "longer than the interval")
		}
		if h.HealthyThreshold < 1 || h.UnhealthyThreshold < 1 {
			return errorf(at+".health_check", "thresholds must be at least 1")
		}
	}
	if o := s.Outlier; o.MaxEjectedPercent < 0 || o.MaxEjectedPercent > 100 {
		return errorf(at+".outlier.max_ejected_percent", "%d is outside 0..100", o.MaxEjectedPercent)
	}
	if s.PanicThreshold < 0 || s.PanicThreshold > 100 {
		return errorf(at+".panic_threshold", "%d is outside 0..100", s.PanicThreshold)
	}
	if d := s.Discovery; d != nil {
		switch {
		case (d.DNS == "") == (d.SRV == ""):
			return errorf(at+".discovery", "needs exactly one of dns or srv")
		case d.DNS != "" && (d.Port < 1 || d.Port > 65535):
			return errorf(at+".discovery.port", "required with dns (1..65535)")
		case c.Network.Resolver == "":
			return errorf(at+".discovery", "needs network.resolver, the DNS server to ask")
		case d.MinTTL > d.MaxTTL:
			return errorf(at+".discovery.min_ttl", "exceeds max_ttl")
		}
	}
	return nil
}

func validResolver(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || net.ParseIP(host) == nil {
		return fmt.Errorf("%q is not ip:port", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q is not ip:port", s)
	}
	return nil
}
