package gateway

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// tlsListener terminates TLS itself, so that HTTP/1.1 over TLS goes through
// the same strict framing check as plain HTTP: net/http would otherwise
// parse what the handshake hands it without one. Handshakes run in their
// own goroutines under a deadline, so a client that stalls one holds no
// one else up. A connection that negotiated h2 is handed to net/http as
// the *tls.Conn it expects (HTTP/2 has no framing ambiguity to check);
// any other is wrapped in a strictConn, and its TLS state travels in the
// connection's context (tlsStateOf) since net/http no longer sees it.
type tlsListener struct {
	net.Listener
	cfg     *tls.Config
	timeout time.Duration

	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	errMu     sync.Mutex
	err       error
}

func newTLSListener(ln net.Listener, cfg *tls.Config, handshakeTimeout time.Duration) *tlsListener {
	l := &tlsListener{Listener: ln, cfg: cfg, timeout: handshakeTimeout, conns: make(chan net.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *tlsListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			l.errMu.Lock()
			l.err = err
			l.errMu.Unlock()
			l.Close()
			return
		}
		go l.handshake(c)
	}
}

func (l *tlsListener) handshake(c net.Conn) {
	tc := tls.Server(c, l.cfg)
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return
	}
	var out net.Conn = tc
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		out = &strictConn{Conn: tc}
	}
	select {
	case l.conns <- out:
	case <-l.done:
		c.Close()
	}
}

// Accept returns the next connection whose handshake completed.
func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		l.errMu.Lock()
		defer l.errMu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

func (l *tlsListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

type tlsStateKey struct{}

// connContext records the TLS state of a strict connection over TLS.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if sc, ok := c.(*strictConn); ok {
		if tc, ok := sc.Conn.(*tls.Conn); ok {
			st := tc.ConnectionState()
			return context.WithValue(ctx, tlsStateKey{}, &st)
		}
	}
	return ctx
}

// tlsStateOf returns the TLS state of the connection a request came on:
// net/http's own for h2, the listener's for HTTP/1.1 over TLS.
func tlsStateOf(r *http.Request) *tls.ConnectionState {
	if r.TLS != nil {
		return r.TLS
	}
	st, _ := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState)
	return st
}
