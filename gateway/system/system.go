// Package system assembles the gateway with its subsystems from one
// configuration: the stages in pipeline order, their console commands and
// their admin API endpoints. The hosted binary and the image both start the
// gateway through it, so they run the same thing.
package system

import (
	"net"
	"net/http"
	"time"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/admin"
	"github.com/raygate/raygate/gateway/auth"
	"github.com/raygate/raygate/gateway/config"
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
	g, err := gateway.New(cfg, gateway.Options{
		Dial: opts.Dial,
		// pipeline order: authentication first, before anything reaches
		// a backend or a cache; then rate limits (which may key on the
		// identity) and the resilience wrapper around the round trip
		Stages: []any{a, res},
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	return &System{Gateway: g, Auth: a, Resilience: res, cfg: cfg}, nil
}

// RegisterCommands adds every subsystem's console command.
func (s *System) RegisterCommands(reg *shell.Registry) {
	s.Gateway.RegisterCommands(reg)
	s.Auth.RegisterCommands(reg)
	s.Resilience.RegisterCommands(reg)
}

// AdminHandler returns the admin API with every subsystem's endpoints.
func (s *System) AdminHandler() http.Handler {
	return admin.Handler(s.Gateway, s.cfg.Admin.Token, s.Auth.AdminRoutes)
}

// Close stops background work.
func (s *System) Close() {
	s.Gateway.Close()
	s.Auth.Close()
}
