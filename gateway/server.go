package gateway

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/net/netutil"

	"github.com/raygate/raygate/gateway/config"
)

// Server returns an http.Server for one listener, with the configured
// limits and, for a TLS listener, its certificate and HTTP/2.
func (g *Gateway) Server(l config.Listener) (*http.Server, error) {
	lim := g.Config().Limits
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: lim.ReadHeaderTimeout.D(),
		IdleTimeout:       lim.IdleTimeout.D(),
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ErrorLog:          discardLog,
		ConnContext:       connContext,
	}
	if l.TLS != nil {
		cert, err := loadCert(l.TLS)
		if err != nil {
			return nil, fmt.Errorf("listener %s: %v", l.Name, err)
		}
		srv.TLSConfig = &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"h2", "http/1.1"},
		}
	}
	return srv, nil
}

func loadCert(t *config.TLS) (tls.Certificate, error) {
	certPEM, keyPEM := []byte(t.CertPEM), []byte(t.KeyPEM)
	if t.CertFile != "" {
		var err error
		if certPEM, err = os.ReadFile(t.CertFile); err != nil {
			return tls.Certificate{}, err
		}
		if keyPEM, err = os.ReadFile(t.KeyFile); err != nil {
			return tls.Certificate{}, err
		}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate and key: %v", err)
	}
	return cert, nil
}

// Serve serves one listener until it is closed: connections beyond
// limits.max_connections wait to be accepted rather than exhaust memory.
func (g *Gateway) Serve(ln net.Listener, l config.Listener) error {
	srv, err := g.Server(l)
	if err != nil {
		return err
	}
	// connections in their TLS handshake count against the limit too
	ln = netutil.LimitListener(ln, g.Config().Limits.MaxConnections)
	if srv.TLSConfig != nil {
		ln = newTLSListener(ln, srv.TLSConfig, g.Config().Limits.ReadHeaderTimeout.D())
	} else {
		ln = strictListener{ln}
	}
	return srv.Serve(ln)
}

// Stats are the gateway's running totals.
type Stats struct {
	Uptime   time.Duration
	Requests uint64
	Errors   uint64
	InFlight int64
	Routes   int
	Services int
	Version  uint64 // bumped by every configuration change
}

// Stats returns the running totals.
func (g *Gateway) Stats() Stats {
	s := g.snap.Load()
	return Stats{
		Uptime:   time.Since(g.started),
		Requests: g.requests.Load(),
		Errors:   g.errors.Load(),
		InFlight: g.inflight.Load(),
		Routes:   s.table.Len(),
		Services: len(s.services),
		Version:  s.version,
	}
}
