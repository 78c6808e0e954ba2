package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/raygate/raygate/gateway/balance"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/problem"
	"github.com/raygate/raygate/gateway/route"
)

// The request path is an ordered chain of stages, in three phases:
//
//	route (built in) -> RequestStages (auth, mediate, ...)
//	  -> TransportStages wrapping the upstream round trip (resilience, ...)
//	     -> balance (built in: picks the instance for each attempt) -> upstream
//	  -> ResponseStages on the upstream's answer (mediate, ...)
//	-> Observers see every finished exchange (metrics, access log)
//
// A subsystem is a value implementing one or more of these interfaces,
// passed in Options.Stages; the core does not change when one is added.

// RequestStage runs, in order, after routing and before forwarding.
type RequestStage interface {
	// Name names the stage in timings and errors.
	Name() string
	// OnRequest may change ex.Request (replacing it with a clone), or end
	// the exchange: return an *Error to answer with a problem, or write a
	// response to w itself and return ErrHandled.
	OnRequest(w http.ResponseWriter, ex *Exchange) error
}

// TransportStage wraps the upstream round trip. Wrappers run outermost
// first, in Options.Stages order; the innermost is the balancer.
type TransportStage interface {
	Name() string
	// WrapTransport returns a RoundTripper that calls next. The exchange is
	// in the request's context (FromContext).
	WrapTransport(next http.RoundTripper) http.RoundTripper
}

// ResponseStage runs, in order, on the upstream's response before it is
// streamed to the client.
type ResponseStage interface {
	Name() string
	// OnResponse may change resp (headers, status, body); an error ends the
	// exchange with a problem (an *Error carries its status, else 502).
	OnResponse(ex *Exchange, resp *http.Response) error
}

// RouteCompiler is implemented by stages that prepare per-route state when
// a snapshot is built: a policy is parsed once, and a bad one rejects the
// configuration change before it goes live. The result is read back with
// Exchange.RouteData.
type RouteCompiler interface {
	CompileRoute(r *config.Route) (any, error)
}

// Observer sees each exchange once it is finished. It must be fast and must
// not keep ex.
type Observer interface {
	Observe(ex *Exchange)
}

// ErrorWriter is implemented by stages that give a route its own error
// bodies. WriteError writes p for the exchange and returns true, or returns
// false (having written nothing) to leave the problem+json default.
type ErrorWriter interface {
	WriteError(w http.ResponseWriter, ex *Exchange, p problem.Details, ext map[string]any) bool
}

// ErrHandled tells the pipeline a stage wrote the response itself.
var ErrHandled = errors.New("gateway: response written by stage")

// Error is an error with the status and problem type the client gets.
type Error struct {
	Status int
	// Kind is the problem type's slug, e.g. "no-route".
	Kind   string
	Detail string
	// Header holds headers to send with the problem (Retry-After,
	// WWW-Authenticate, Allow).
	Header http.Header
	// Extensions are extra problem members, e.g. "violations".
	Extensions map[string]any
	// Err is the underlying cause, for logs; never shown to the client.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Kind + ": " + e.Detail + ": " + e.Err.Error()
	}
	return e.Kind + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Exchange is one request's state along the pipeline.
type Exchange struct {
	// Request is the inbound request; stages may replace it with a clone.
	Request *http.Request
	// ID is the request id (X-Request-Id).
	ID string
	// Path is the normalised path routes matched.
	Path string
	// Route is the matched route's name; Params its captured parameters.
	Route  string
	Params route.Params
	// Service is the service the route forwards to ("" for direct answers).
	Service string
	// Instance is the address of the instance the last attempt went to.
	Instance string
	// Attempts counts upstream attempts (retries add to it).
	Attempts int
	// Identity is set by the auth stage.
	Identity *Identity
	// Values holds stage-private state, keyed by stage name.
	Values map[string]any

	// Start is when the gateway read the request, End when it finished
	// (set before the observers run); Timings records how long each stage
	// (by name) and "upstream" took.
	Start   time.Time
	End     time.Time
	Timings []Timing

	// Upstream is how long the last attempt took to the upstream's
	// response headers (0 when nothing was forwarded).
	Upstream time.Duration

	// Status and BytesOut are what the client got; BytesIn is the request
	// body read; Err is why the exchange failed, and Problem the kind of
	// problem the gateway answered with, if it did.
	Status   int
	BytesIn  int64
	BytesOut int64
	Err      error
	Problem  string

	timings [6]Timing // Timings' first backing array: no allocation per request
	rt      *liveRoute
	svc     *liveService
	inst    *balance.Instance
	body    *countingBody
	g       *Gateway
}

// RouteData returns what st's CompileRoute made of the matched route.
func (ex *Exchange) RouteData(st RouteCompiler) any {
	if ex.rt == nil {
		return nil
	}
	for i, c := range ex.g.compilers {
		if c == st {
			return ex.rt.data[i]
		}
	}
	return nil
}

// RouteConfig returns the matched route's configuration (zero before
// routing).
func (ex *Exchange) RouteConfig() config.Route {
	if ex.rt == nil {
		return config.Route{}
	}
	return ex.rt.cfg
}

// RouteService returns the name of the service the matched route forwards
// to ("" for direct answers and unrouted requests).
func (ex *Exchange) RouteService() string {
	if ex.rt == nil {
		return ex.Service
	}
	return ex.rt.cfg.Service
}

// Routed reports whether the exchange matched a route (and so went through
// the request stages).
func (ex *Exchange) Routed() bool { return ex.rt != nil }

// ServiceConfig returns the configuration of the service the route forwards
// to (zero for routes that answer directly).
func (ex *Exchange) ServiceConfig() config.Service {
	if ex.svc == nil {
		return config.Service{}
	}
	return ex.svc.pool.Config()
}

// RemoteIP returns the client's address without port.
func (ex *Exchange) RemoteIP() string {
	host, _, err := net.SplitHostPort(ex.Request.RemoteAddr)
	if err != nil {
		return ex.Request.RemoteAddr
	}
	return host
}

// Timing is the time one step took.
type Timing struct {
	Stage string
	D     time.Duration
}

// Identity is who is calling, as the auth stage established it.
type Identity struct {
	Subject string
	Role    string
	KeyID   string
	// Permissions is a bitmask (see the auth subsystem).
	Permissions uint32
	Claims      map[string]any
}

type exchangeKey struct{}

// FromContext returns the exchange of a request being served, or nil.
func FromContext(ctx context.Context) *Exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*Exchange)
	return ex
}

func (ex *Exchange) timed(stage string, since time.Time) {
	ex.Timings = append(ex.Timings, Timing{stage, time.Since(since)})
}
