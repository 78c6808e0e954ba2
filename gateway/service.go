package gateway

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raygate/raygate/gateway/balance"
	"github.com/raygate/raygate/gateway/config"
)

// liveService is a service in a snapshot: its balancing pool and counters.
type liveService struct {
	name     string
	pool     *balance.Pool
	requests atomic.Uint64
	errors   atomic.Uint64
}

func newService(cfg config.Service, old *liveService) *liveService {
	var oldPool *balance.Pool
	s := &liveService{name: cfg.Name}
	if old != nil {
		oldPool = old.pool
		s.requests.Store(old.requests.Load())
		s.errors.Store(old.errors.Load())
	}
	s.pool = balance.NewPool(cfg, oldPool, nil)
	return s
}

// balancer is the innermost transport stage: for every attempt it picks an
// instance of the exchange's service and points the request at it. A retry
// avoids the instance the previous attempt used. The instance's in-flight
// count covers the whole exchange, up to the response body's close, on
// every path.
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
	pool := ex.svc.pool
	in, err := pool.Pick(pool.HashKey(req), ex.inst)
	if err != nil {
		return nil, err
	}
	ex.inst, ex.Instance = in, in.Addr
	ex.Attempts++
	// A shallow copy with its own URL: the proxy's outbound request is
	// already ours (its headers were cloned once), and each attempt only
	// changes where it goes.
	out := new(http.Request)
	*out = *req
	u := *req.URL
	out.URL = &u
	out.URL.Host = in.Addr
	if !b.preserveHost {
		out.Host = in.Addr
	}
	pool.Begin(in)
	start := time.Now()
	resp, err := b.next.RoundTrip(out)
	if err != nil {
		// a client that went away says nothing about the instance
		pool.Done(in, req.Context().Err() == nil, 0)
		return nil, err
	}
	failed, latency := resp.StatusCode >= 500, time.Since(start)
	ex.Upstream = latency
	if resp.StatusCode == http.StatusSwitchingProtocols {
		// The body is the tunnel (an io.ReadWriteCloser the proxy needs
		// as is); the request is done as far as the pool is concerned.
		pool.Done(in, false, latency)
		return resp, nil
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, done: func() { pool.Done(in, failed, latency) }}
	return resp, nil
}

// doneBody calls done once, when the body is closed.
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
