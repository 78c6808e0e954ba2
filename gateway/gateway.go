// Package gateway is raygate's request path: it matches a route, then answers
// directly or forwards to a service's instance, and writes every error it
// generates as problem+json. It is plain Go with no TamaGo imports, served by
// the image over gVisor's netstack and by the hosted binary over the OS.
//
// The route table and pools are an immutable snapshot behind an atomic
// pointer: requests read it without locks, and changes build a new one.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/problem"
)

// DialFunc dials a backend; net.Dialer.DialContext has this shape.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Options are the environment the gateway runs in.
type Options struct {
	// Dial connects to backends; nil means the default net.Dialer (which,
	// in the image, goes through the netstack socket hook).
	Dial DialFunc
}

// Gateway is the request handler.
type Gateway struct {
	snap    atomic.Pointer[snapshot]
	opts    Options
	started time.Time

	requests atomic.Uint64
	errors   atomic.Uint64
}

type snapshot struct {
	cfg      *config.Config
	exact    map[string][]*route
	prefixes []*route // longest prefix first
	services map[string]*service
}

type route struct {
	cfg     config.Route
	methods map[string]bool
	svc     *service
}

type service struct {
	name      string
	instances []string // weighted expansion of instance addresses
	next      atomic.Uint64
	proxy     *httputil.ReverseProxy
}

// New builds a gateway from a validated configuration.
func New(cfg *config.Config, opts Options) (*Gateway, error) {
	g := &Gateway{opts: opts, started: time.Now()}
	s, err := g.compile(cfg)
	if err != nil {
		return nil, err
	}
	g.snap.Store(s)
	return g, nil
}

// Config returns the configuration in force.
func (g *Gateway) Config() *config.Config { return g.snap.Load().cfg }

func (g *Gateway) transport(cfg *config.Config) *http.Transport {
	dial := g.opts.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return &http.Transport{
		DialContext:           dial,
		MaxIdleConnsPerHost:   cfg.Limits.MaxIdleConnsPerHost,
		MaxIdleConns:          cfg.Limits.MaxIdleConnsPerHost * len(cfg.Services),
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
	}
}

func (g *Gateway) compile(cfg *config.Config) (*snapshot, error) {
	s := &snapshot{cfg: cfg, exact: map[string][]*route{}, services: map[string]*service{}}
	tr := g.transport(cfg)
	for _, sc := range cfg.Services {
		svc := &service{name: sc.Name}
		for _, in := range sc.Instances {
			for w := 0; w < in.Weight && w < 100; w++ {
				svc.instances = append(svc.instances, in.Address)
			}
		}
		if len(svc.instances) == 0 {
			return nil, fmt.Errorf("service %q: every instance has weight 0", sc.Name)
		}
		svc.proxy = &httputil.ReverseProxy{
			Rewrite:      svc.rewrite,
			Transport:    tr,
			ErrorHandler: g.proxyError,
		}
		s.services[sc.Name] = svc
	}
	for _, rc := range cfg.Routes {
		r := &route{cfg: rc}
		if len(rc.Match.Methods) > 0 {
			r.methods = map[string]bool{}
			for _, m := range rc.Match.Methods {
				r.methods[m] = true
			}
		}
		if rc.Service != "" {
			r.svc = s.services[rc.Service]
		}
		if rc.Match.Path != "" {
			s.exact[rc.Match.Path] = append(s.exact[rc.Match.Path], r)
		} else {
			s.prefixes = append(s.prefixes, r)
		}
	}
	sort.SliceStable(s.prefixes, func(i, j int) bool {
		return len(s.prefixes[i].cfg.Match.Prefix) > len(s.prefixes[j].cfg.Match.Prefix)
	})
	return s, nil
}

// match finds the route for a cleaned path; allowed lists the methods of
// routes whose path matched but whose methods did not.
func (s *snapshot) match(method, p string) (r *route, allowed []string) {
	try := func(cands []*route) *route {
		for _, c := range cands {
			if c.methods == nil || c.methods[method] {
				return c
			}
			allowed = append(allowed, c.cfg.Match.Methods...)
		}
		return nil
	}
	if r = try(s.exact[p]); r != nil {
		return r, nil
	}
	for _, c := range s.prefixes {
		if strings.HasPrefix(p, c.cfg.Match.Prefix) {
			if r = try([]*route{c}); r != nil {
				return r, nil
			}
		}
	}
	return nil, allowed
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.requests.Add(1)
	if r.Header.Get("X-Request-Id") == "" {
		r.Header.Set("X-Request-Id", newRequestID())
	}
	w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))

	s := g.snap.Load()
	p := cleanPath(r.URL.Path)
	rt, allowed := s.match(r.Method, p)
	if rt == nil {
		g.errors.Add(1)
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			problem.Write(w, r, http.StatusMethodNotAllowed, "method-not-allowed", fmt.Sprintf("method %s is not allowed here", r.Method))
			return
		}
		problem.Write(w, r, http.StatusNotFound, "no-route", "no route matches this request")
		return
	}
	if rs := rt.cfg.Respond; rs != nil {
		w.Header().Set("Content-Type", rs.ContentType)
		w.WriteHeader(rs.Status)
		if r.Method != http.MethodHead {
			strings.NewReader(rs.Body).WriteTo(w)
		}
		return
	}
	// The upstream may answer before the request body has all arrived (an
	// echo, an early error); by default net/http's HTTP/1 server would then
	// close the body under the proxy, which aborts the upstream request.
	http.NewResponseController(w).EnableFullDuplex()
	out := r
	if rt.cfg.StripPrefix {
		out = r.Clone(r.Context())
		rest := strings.TrimPrefix(p, rt.cfg.Match.Prefix)
		if !strings.HasPrefix(rest, "/") {
			rest = "/" + rest
		}
		out.URL.Path, out.URL.RawPath = rest, ""
	}
	rt.svc.proxy.ServeHTTP(w, out)
}

func (s *service) rewrite(pr *httputil.ProxyRequest) {
	n := s.next.Add(1) - 1
	addr := s.instances[n%uint64(len(s.instances))]
	pr.SetURL(&url.URL{Scheme: "http", Host: addr})
	pr.Out.Host = pr.In.Host
	pr.SetXForwarded()
}

// proxyError maps an upstream failure to its status: a timeout is 504,
// anything else (refused, reset, malformed answer) is 502. A client that went
// away gets nothing: there is no one to answer.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	g.errors.Add(1)
	if errors.Is(r.Context().Err(), context.Canceled) {
		return
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		problem.Write(w, r, http.StatusGatewayTimeout, "upstream-timeout", "the upstream did not answer in time")
		return
	}
	problem.Write(w, r, http.StatusBadGateway, "bad-gateway", "the upstream could not be reached or answered badly")
}

// cleanPath resolves dot segments and duplicate slashes, keeping a trailing
// slash, so /a/../b and //b match the route of /b.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if strings.HasSuffix(p, "/") && np != "/" {
		np += "/"
	}
	return np
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Stats are the gateway's running totals.
type Stats struct {
	Uptime   time.Duration
	Requests uint64
	Errors   uint64
	Routes   int
	Services int
}

// Stats returns the running totals.
func (g *Gateway) Stats() Stats {
	s := g.snap.Load()
	return Stats{
		Uptime:   time.Since(g.started),
		Requests: g.requests.Load(),
		Errors:   g.errors.Load(),
		Routes:   len(s.cfg.Routes),
		Services: len(s.cfg.Services),
	}
}

// Server returns an http.Server for the gateway with the configured limits.
func (g *Gateway) Server() *http.Server {
	l := g.Config().Limits
	return &http.Server{
		Handler:           g,
		ReadHeaderTimeout: time.Duration(l.ReadHeaderTimeoutSec) * time.Second,
		IdleTimeout:       time.Duration(l.IdleTimeoutSec) * time.Second,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}
