// Package gateway is raygate's request path: it normalises and routes each
// request, runs the subsystems' stages (stage.go), forwards to an instance
// of the route's service over a streaming reverse proxy, and writes every
// error it generates as problem+json. It is plain Go with no TamaGo imports,
// served by the image over gVisor's netstack and by the hosted binary over
// the OS.
//
// The route table and services form an immutable snapshot behind an atomic
// pointer: requests read it without locks, and changes (ops.go) build a new
// one and swap it. Requests in flight keep the snapshot they started with;
// upgraded connections (WebSockets) do not depend on it at all.
//
// It may import gateway/config, gateway/route, gateway/problem and shell.
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
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raygate/raygate/gateway/balance"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/problem"
	"github.com/raygate/raygate/gateway/route"
)

// DialFunc dials a backend; net.Dialer.DialContext has this shape.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Options are the environment the gateway runs in.
type Options struct {
	// Dial connects to backends; nil means a net.Dialer (which, in the
	// image, goes through the netstack socket hook).
	Dial DialFunc
	// Stages are the subsystems, each implementing one or more of
	// RequestStage, TransportStage, ResponseStage and Observer; each phase
	// runs its stages in this order.
	Stages []any
}

// Gateway is the request handler.
type Gateway struct {
	snap    atomic.Pointer[snapshot]
	opts    Options
	started time.Time
	opsMu   sync.Mutex // serialises changes; never taken by requests

	compilers  []RouteCompiler
	reqStages  []RequestStage
	respStages []ResponseStage
	errWriters []ErrorWriter
	observers  []Observer
	proxy      *httputil.ReverseProxy
	transport  *http.Transport
	dial       DialFunc

	requests atomic.Uint64
	errors   atomic.Uint64
	inflight atomic.Int64
}

type snapshot struct {
	cfg      *config.Config
	table    *route.Table[*liveRoute]
	services map[string]*liveService
	trusted  []netip.Prefix
	version  uint64
}

// liveRoute is a route's compiled form and counters.
type liveRoute struct {
	cfg      config.Route
	svc      *liveService
	prefix   string // for strip_prefix, normalised without trailing slash
	data     []any  // per RouteCompiler, in g.compilers order
	requests atomic.Uint64
	errors   atomic.Uint64
}

// New builds a gateway from a validated configuration.
func New(cfg *config.Config, opts Options) (*Gateway, error) {
	g := &Gateway{opts: opts, started: time.Now()}
	var transportStages []TransportStage
	for _, s := range opts.Stages {
		ok := false
		if st, is := s.(RequestStage); is {
			g.reqStages, ok = append(g.reqStages, st), true
		}
		if st, is := s.(TransportStage); is {
			transportStages, ok = append(transportStages, st), true
		}
		if st, is := s.(ResponseStage); is {
			g.respStages, ok = append(g.respStages, st), true
		}
		if st, is := s.(Observer); is {
			g.observers, ok = append(g.observers, st), true
		}
		if st, is := s.(RouteCompiler); is {
			g.compilers, ok = append(g.compilers, st), true
		}
		if st, is := s.(ErrorWriter); is {
			g.errWriters, ok = append(g.errWriters, st), true
		}
		if !ok {
			return nil, fmt.Errorf("gateway: stage %T implements no stage interface", s)
		}
	}

	dial := opts.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: cfg.Limits.ConnectTimeout.D(), KeepAlive: 30 * time.Second}).DialContext
	}
	g.transport = &http.Transport{
		DialContext:            dial,
		MaxIdleConnsPerHost:    cfg.Limits.MaxIdleConnsPerInstance,
		MaxConnsPerHost:        cfg.Limits.MaxConnsPerInstance,
		MaxIdleConns:           cfg.Limits.MaxIdleConnsPerInstance * 64,
		IdleConnTimeout:        90 * time.Second,
		ResponseHeaderTimeout:  cfg.Limits.UpstreamTimeout.D(),
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: int64(cfg.Limits.MaxHeaderBytes),
	}
	var rt http.RoundTripper = &balancer{next: g.transport, preserveHost: cfg.Proxy.PreserveHostOrDefault()}
	for i := len(transportStages) - 1; i >= 0; i-- {
		rt = transportStages[i].WrapTransport(rt)
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:        g.rewrite,
		Transport:      rt,
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		BufferPool:     bufferPool{},
		ErrorLog:       discardLog,
	}

	s, err := g.compile(cfg, nil)
	if err != nil {
		return nil, err
	}
	g.snap.Store(s)
	g.startPools(s, nil)
	return g, nil
}

// startPools starts the background work (health checks, discovery) of the
// pools new in s, and stops that of old's pools s no longer uses.
func (g *Gateway) startPools(s, old *snapshot) {
	for name, svc := range s.services {
		if old == nil || old.services[name] == nil || old.services[name].pool != svc.pool {
			svc.pool.Start(balance.DialFunc(g.dial), s.cfg.Network.Resolver, s.cfg.Limits.MaxInstances)
		}
	}
	if old == nil {
		return
	}
	for name, svc := range old.services {
		if n := s.services[name]; n == nil || n.pool != svc.pool {
			svc.pool.Stop()
		}
	}
}

// Close stops the pools' background work.
func (g *Gateway) Close() {
	for _, svc := range g.snap.Load().services {
		svc.pool.Stop()
	}
}

// Config returns the configuration in force. It must not be modified.
func (g *Gateway) Config() *config.Config { return g.snap.Load().cfg }

func (g *Gateway) compile(cfg *config.Config, old *snapshot) (*snapshot, error) {
	s := &snapshot{cfg: cfg, services: map[string]*liveService{}}
	if old != nil {
		s.version = old.version + 1
	}
	for _, sc := range cfg.Services {
		var prev *liveService
		if old != nil {
			prev = old.services[sc.Name]
		}
		s.services[sc.Name] = newService(sc, prev)
	}
	for _, c := range cfg.Proxy.TrustedProxies {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, err
		}
		s.trusted = append(s.trusted, p.Masked())
	}
	entries := make([]route.Entry[*liveRoute], 0, len(cfg.Routes))
	for _, rc := range cfg.Routes {
		lr := &liveRoute{cfg: rc, svc: s.services[rc.Service]}
		for _, c := range g.compilers {
			d, err := c.CompileRoute(&lr.cfg)
			if err != nil {
				return nil, fmt.Errorf("route %q: %w", rc.Name, err)
			}
			lr.data = append(lr.data, d)
		}
		if rc.StripPrefix {
			lr.prefix = strings.TrimRight(rc.Match.Prefix, "/")
		}
		if old != nil {
			if m, ok := old.route(rc.Name); ok {
				lr.requests.Store(m.requests.Load())
				lr.errors.Store(m.errors.Load())
			}
		}
		entries = append(entries, route.Entry[*liveRoute]{Name: rc.Name, Spec: rc.Spec(), Value: lr})
	}
	t, err := route.Build(entries)
	if err != nil {
		return nil, err
	}
	s.table = t
	return s, nil
}

// route finds a live route by name (linear: only used by operations).
func (s *snapshot) route(name string) (*liveRoute, bool) {
	var found *liveRoute
	s.walkRoutes(func(r *liveRoute) {
		if r.cfg.Name == name {
			found = r
		}
	})
	return found, found != nil
}

func (s *snapshot) walkRoutes(fn func(*liveRoute)) {
	s.table.Walk(func(_ string, r *liveRoute) { fn(r) })
}

var discardLog = newDiscardLogger()

// ServeHTTP implements http.Handler: the whole pipeline for one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.requests.Add(1)
	g.inflight.Add(1)
	defer g.inflight.Add(-1)

	ex := &Exchange{Request: r, Start: time.Now(), ID: requestID(r.Header.Get("X-Request-Id")), g: g}
	ex.Timings = ex.timings[:0]
	r.Header.Set("X-Request-Id", ex.ID)
	w.Header().Set("X-Request-Id", ex.ID)
	rw := &responseWriter{ResponseWriter: w}
	defer g.finish(ex, rw)

	s := g.snap.Load()

	// route
	t0 := time.Now()
	p, err := route.Normalize(r.URL.EscapedPath())
	if err != nil {
		g.fail(rw, ex, &Error{Status: http.StatusBadRequest, Kind: "bad-path", Detail: err.Error()})
		return
	}
	ex.Path = p
	m, ok, allowed := s.table.Lookup(&route.Request{
		Method:   r.Method,
		Host:     hostOnly(r.Host),
		Path:     p,
		Header:   r.Header,
		RawQuery: r.URL.RawQuery,
	})
	ex.timed("route", t0)
	if !ok {
		if len(allowed) > 0 {
			g.fail(rw, ex, &Error{Status: http.StatusMethodNotAllowed, Kind: "method-not-allowed",
				Detail: fmt.Sprintf("method %s is not allowed here", r.Method), Header: http.Header{"Allow": {strings.Join(allowed, ", ")}}})
			return
		}
		g.fail(rw, ex, &Error{Status: http.StatusNotFound, Kind: "no-route", Detail: "no route matches this request"})
		return
	}
	lr := m.Value
	ex.Route, ex.Params, ex.rt = m.Name, m.Params, lr
	lr.requests.Add(1)

	for _, st := range g.reqStages {
		t := time.Now()
		err := st.OnRequest(rw, ex)
		ex.timed(st.Name(), t)
		if errors.Is(err, ErrHandled) {
			return
		}
		if err != nil {
			g.fail(rw, ex, err)
			return
		}
	}

	if rs := lr.cfg.Respond; rs != nil {
		h := rw.Header()
		for k, v := range rs.Headers {
			h.Set(k, v)
		}
		h.Set("Content-Type", rs.ContentType)
		rw.WriteHeader(rs.Status)
		if r.Method != http.MethodHead {
			strings.NewReader(rs.Body).WriteTo(rw)
		}
		return
	}

	ex.Service, ex.svc = lr.svc.name, lr.svc
	lr.svc.requests.Add(1)
	req := ex.Request
	if max := s.cfg.Limits.MaxBodyBytes; req.ContentLength > max {
		g.fail(rw, ex, &Error{Status: http.StatusRequestEntityTooLarge, Kind: "body-too-large",
			Detail: fmt.Sprintf("request body of %d bytes exceeds %d", req.ContentLength, max)})
		return
	} else if req.Body != nil && req.Body != http.NoBody {
		ex.body = &countingBody{ReadCloser: http.MaxBytesReader(rw, req.Body, max)}
		req.Body = ex.body
	}
	// The upstream may answer before the request body has all arrived (an
	// echo, an early error); by default net/http's HTTP/1 server would then
	// close the body under the proxy, which aborts the upstream request.
	http.NewResponseController(rw).EnableFullDuplex()
	ctx := context.WithValue(req.Context(), exchangeKey{}, ex)
	if t := lr.cfg.Timeout.D(); t > 0 {
		// the route's budget covers every attempt and the body's streaming
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	g.proxy.ServeHTTP(rw, req.WithContext(ctx))
}

// finish records the outcome and tells the observers.
func (g *Gateway) finish(ex *Exchange, rw *responseWriter) {
	ex.End = time.Now()
	ex.Status, ex.BytesOut = rw.status, rw.bytes
	if ex.body != nil {
		ex.BytesIn = ex.body.n.Load()
	}
	if ex.Status == 0 {
		ex.Status = http.StatusOK
	}
	failed := ex.Err != nil || ex.Status >= 500
	if failed {
		g.errors.Add(1)
		if ex.rt != nil {
			ex.rt.errors.Add(1)
		}
		if ex.svc != nil {
			ex.svc.errors.Add(1)
		}
	}
	for _, o := range g.observers {
		o.Observe(ex)
	}
}

// fail is the one sink for errors the gateway generates.
func (g *Gateway) fail(w http.ResponseWriter, ex *Exchange, err error) {
	ex.Err = err
	var ge *Error
	if !errors.As(err, &ge) {
		ge = &Error{Status: http.StatusBadGateway, Kind: "bad-gateway", Detail: "the request could not be completed", Err: err}
	}
	for k, vs := range ge.Header {
		w.Header()[k] = vs
	}
	ex.Problem = ge.Kind
	if ge.Status == http.StatusRequestEntityTooLarge {
		// The client may still be sending (or may never send) the body:
		// close rather than read it to keep the connection alive.
		w.Header().Set("Connection", "close")
	}
	d := problem.New(ex.Request, ge.Status, ge.Kind, ge.Detail)
	if ex.rt != nil {
		for _, ew := range g.errWriters {
			if ew.WriteError(w, ex, d, ge.Extensions) {
				return
			}
		}
	}
	problem.WriteDetails(w, d, ge.Extensions)
}

// rewrite builds the upstream request (httputil.ProxyRequest.Out has had its
// hop-by-hop and forwarding headers removed already).
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	ex := FromContext(pr.In.Context())
	s := g.snap.Load()
	out := pr.Out
	// the balancer sets the instance for each attempt
	out.URL.Scheme, out.URL.Host = "http", ex.Service
	out.Host = pr.In.Host

	lr := ex.rt
	switch {
	case lr.cfg.Rewrite != "":
		out.URL.Path, out.URL.RawPath = expand(lr.cfg.Rewrite, ex.Params), ""
	case lr.cfg.StripPrefix:
		rest := strings.TrimPrefix(ex.Path, lr.prefix)
		if !strings.HasPrefix(rest, "/") {
			rest = "/" + rest
		}
		out.URL.Path, out.URL.RawPath = rest, ""
	}
	setForwarded(pr, s.trusted)
}

// expand fills a rewrite template's {name} from the route's parameters.
func expand(tpl string, ps route.Params) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tpl, '{')
		if i < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		j := strings.IndexByte(tpl[i:], '}')
		if j < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		b.WriteString(tpl[:i])
		b.WriteString(ps.Get(tpl[i+1 : i+j]))
		tpl = tpl[i+j+1:]
	}
}

// setForwarded sets X-Forwarded-For/Host/Proto and Forwarded (RFC 7239).
// A client inside a trusted CIDR has its chain kept and appended to; from
// anyone else those headers are replaced, so a client cannot forge them.
func setForwarded(pr *httputil.ProxyRequest, trusted []netip.Prefix) {
	in, out := pr.In, pr.Out
	clientIP := ""
	if host, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		clientIP = host
	}
	trust := false
	if a, err := netip.ParseAddr(clientIP); err == nil {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				trust = true
			}
		}
	}
	proto := "http"
	if tlsStateOf(in) != nil {
		proto = "https"
	}
	if trust {
		if prior := in.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			out.Header.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+clientIP)
		} else {
			out.Header.Set("X-Forwarded-For", clientIP)
		}
		setIfAbsent(out.Header, in.Header, "X-Forwarded-Host", in.Host)
		setIfAbsent(out.Header, in.Header, "X-Forwarded-Proto", proto)
	} else {
		out.Header.Set("X-Forwarded-For", clientIP)
		out.Header.Set("X-Forwarded-Host", in.Host)
		out.Header.Set("X-Forwarded-Proto", proto)
	}
	node := clientIP
	if strings.Contains(node, ":") {
		node = `"[` + node + `]"`
	}
	fwd := "for=" + node + ";host=" + quoteIfNeeded(in.Host) + ";proto=" + proto
	if prior := in.Header.Values("Forwarded"); trust && len(prior) > 0 {
		fwd = strings.Join(prior, ", ") + ", " + fwd
	}
	out.Header.Set("Forwarded", fwd)
}

func setIfAbsent(out, in http.Header, key, val string) {
	if v := in.Get(key); v != "" {
		out.Set(key, v)
	} else {
		out.Set(key, val)
	}
}

func quoteIfNeeded(s string) string {
	for _, c := range s {
		if !(c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
		}
	}
	return s
}

func (g *Gateway) modifyResponse(resp *http.Response) error {
	ex := FromContext(resp.Request.Context())
	for _, st := range g.respStages {
		t := time.Now()
		err := st.OnResponse(ex, resp)
		ex.timed(st.Name(), t)
		if err != nil {
			return err
		}
	}
	return nil
}

// proxyError maps a forwarding failure to its status: a stage's *Error
// keeps its own; a body over the limit is 413; a timeout is 504; a client
// that went away gets nothing (there is no one to answer, logged as 499);
// anything else (refused, reset, malformed answer) is 502.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	ex := FromContext(r.Context())
	var ge *Error
	var mb *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &ge):
	case errors.Is(err, balance.ErrNoHealthy):
		ge = &Error{Status: http.StatusServiceUnavailable, Kind: "no-healthy-instance",
			Detail: fmt.Sprintf("service %s has no healthy instance", ex.Service), Header: http.Header{"Retry-After": {"5"}}, Err: err}
	case errors.As(err, &mb):
		ge = &Error{Status: http.StatusRequestEntityTooLarge, Kind: "body-too-large",
			Detail: fmt.Sprintf("request body exceeds %d bytes", mb.Limit), Err: err}
	case errors.Is(r.Context().Err(), context.Canceled):
		ex.Err, ex.Problem = err, "client-closed"
		if rw, ok := w.(*responseWriter); ok {
			rw.status = 499
		}
		return
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		ge = &Error{Status: http.StatusGatewayTimeout, Kind: "upstream-timeout", Detail: "the upstream did not answer in time", Err: err}
	default:
		ge = &Error{Status: http.StatusBadGateway, Kind: "bad-gateway", Detail: "the upstream could not be reached or answered badly", Err: err}
	}
	g.fail(w, ex, ge)
}

// requestID keeps a well-formed incoming id and replaces anything else.
func requestID(in string) string {
	if n := len(in); n > 0 && n <= 128 {
		ok := true
		for i := 0; i < n; i++ {
			c := in[i]
			if !(c == '-' || c == '_' || c == '.' || c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				ok = false
				break
			}
		}
		if ok {
			return in
		}
	}
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}
