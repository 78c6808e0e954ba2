// Package system assembles the gateway with its subsystems from one
// configuration: the stages in pipeline order, their console commands and
// their admin API endpoints. The hosted binary and the image both start the
// gateway through it, so they run the same thing.
package system

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/admin"
	"github.com/raygate/raygate/gateway/auth"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/mediate"
	"github.com/raygate/raygate/gateway/metrics"
	"github.com/raygate/raygate/gateway/resilience"
	"github.com/raygate/raygate/shell"
)

// Options are the environment.
type Options struct {
	// Dial connects to backends and to subsystems' own upstreams (a JWKS
	// URL); nil means a net.Dialer.
	Dial gateway.DialFunc
}

// System is a running gateway and its subsystems.
type System struct {
	Gateway    *gateway.Gateway
	Auth       *auth.Auth
	Resilience *resilience.Resilience
	Mediate    *mediate.Mediate
	Metrics    *metrics.Metrics
	prom       *prometheus.Registry
	cfg        *config.Config
}

// New builds the subsystems and the gateway.
func New(cfg *config.Config, opts Options) (*System, error) {
	dial := opts.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: cfg.Limits.ConnectTimeout.D()}).DialContext
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial}, Timeout: 30 * time.Second}

	a, err := auth.New(cfg.Auth, auth.Options{Client: client})
	if err != nil {
		return nil, err
	}
	res := resilience.New(cfg.Resilience, nil)
	med, err := mediate.New(cfg.Mediation)
	if err != nil {
		a.Close()
		return nil, err
	}
	met := metrics.New(metrics.Options{MaxSeries: cfg.Metrics.MaxSeries})
	if al := cfg.Metrics.AccessLog; al != nil {
		met.AccessLog = metrics.NewAccessLog(os.Stderr, al.Sample, al.OffRoutes)
	}
	g, err := gateway.New(cfg, gateway.Options{
		Dial: opts.Dial,
		// pipeline order: metrics see every routed request from its start;
		// authentication comes before anything reaches a backend or a
		// cache; then rate limits (which may key on the identity) and the
		// resilience wrapper around the round trip; mediation last, so
		// that limits refuse before bodies are read, and a cache hit
		// still counts against a rate limit, as in nginx and Kong
		Stages: []any{met, a, res, med},
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(met, med.Collector(), collectors.NewGoCollector())
	return &System{Gateway: g, Auth: a, Resilience: res, Mediate: med, Metrics: met, prom: reg, cfg: cfg}, nil
}

// RegisterCommands adds every subsystem's console command.
func (s *System) RegisterCommands(reg *shell.Registry) {
	s.Gateway.RegisterCommands(reg)
	s.Auth.RegisterCommands(reg)
	s.Resilience.RegisterCommands(reg)
	s.Mediate.RegisterCommands(reg, func() []config.Route { return s.Gateway.Config().Routes })
	s.Metrics.RegisterCommands(reg)
}

// AdminHandler returns the admin API with every subsystem's endpoints.
func (s *System) AdminHandler() http.Handler {
	return admin.Handler(s.Gateway, s.cfg.Admin.Token, s.Auth.AdminRoutes, s.metricsRoutes)
}

// metricsRoutes serves Prometheus text at /metrics and the JSON snapshot
// at /admin/metrics.json.
func (s *System) metricsRoutes(mux *http.ServeMux) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.prom, promhttp.HandlerOpts{}))
	mux.Handle("GET /dashboard/", metrics.DashboardHandler())
	mux.HandleFunc("GET /admin/resilience/breakers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Resilience.Breakers())
	})
	mux.HandleFunc("GET /admin/mediate/cache", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Mediate.Store().Stats())
	})
	mux.HandleFunc("POST /admin/mediate/cache/flush", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int{"flushed": s.Mediate.Store().Flush(r.URL.Query().Get("route"))})
	})
	mux.HandleFunc("GET /admin/metrics.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(s.Metrics.Snapshot())
	})
}

// Close stops background work.
func (s *System) Close() {
	s.Gateway.Close()
	s.Metrics.Close()
	s.Auth.Close()
}
