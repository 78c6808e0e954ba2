package gateway

import (
	"errors"
	"fmt"

	"github.com/raygate/raygate/gateway/balance"
	"sort"
	"strings"

	"github.com/raygate/raygate/gateway/config"
)

// The operations layer: the one way routes and services change at run time,
// shared by the console (`gateway ...`) and the admin API. Each change
// copies the configuration in force, edits the copy, validates it whole and
// swaps in a new snapshot; on any error nothing changes.

// Operation failures a caller may tell apart (the admin API maps them to
// 404 and 409); test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// opError is a message that also matches one of the sentinels above.
type opError struct {
	kind error
	msg  string
}

func (e *opError) Error() string        { return e.msg }
func (e *opError) Is(target error) bool { return target == e.kind }

func notFound(format string, a ...any) error { return &opError{ErrNotFound, fmt.Sprintf(format, a...)} }
func conflictf(format string, a ...any) error {
	return &opError{ErrConflict, fmt.Sprintf(format, a...)}
}

// AddRoute adds a route; a route of the same name is an error.
func (g *Gateway) AddRoute(r config.Route) error {
	return g.change(func(c *config.Config) error {
		for _, o := range c.Routes {
			if o.Name == r.Name {
				return conflictf("route %q exists; remove it first", r.Name)
			}
		}
		if len(c.Routes) >= c.Limits.MaxRoutes {
			return conflictf("route table full: %d routes (limits.max_routes)", c.Limits.MaxRoutes)
		}
		c.Routes = append(c.Routes, r)
		return nil
	})
}

// RemoveRoute removes the named route.
func (g *Gateway) RemoveRoute(name string) error {
	return g.change(func(c *config.Config) error {
		for i, o := range c.Routes {
			if o.Name == name {
				c.Routes = append(c.Routes[:i], c.Routes[i+1:]...)
				return nil
			}
		}
		return notFound("no route named %q", name)
	})
}

// AddService adds a service, or replaces the instances of an existing one
// (instances it keeps keep their state and counters).
func (g *Gateway) AddService(s config.Service) error {
	return g.change(func(c *config.Config) error {
		for i, o := range c.Services {
			if o.Name == s.Name {
				c.Services[i] = s
				return nil
			}
		}
		if len(c.Services) >= c.Limits.MaxServices {
			return conflictf("service registry full: %d services (limits.max_services)", c.Limits.MaxServices)
		}
		c.Services = append(c.Services, s)
		return nil
	})
}

// RemoveService removes the named service; routes still using it are an error.
func (g *Gateway) RemoveService(name string) error {
	return g.change(func(c *config.Config) error {
		var users []string
		for _, r := range c.Routes {
			if r.Service == name {
				users = append(users, r.Name)
			}
		}
		if len(users) > 0 {
			return conflictf("service %q is used by routes %s; remove them first", name, strings.Join(users, ", "))
		}
		for i, o := range c.Services {
			if o.Name == name {
				c.Services = append(c.Services[:i], c.Services[i+1:]...)
				return nil
			}
		}
		return notFound("no service named %q", name)
	})
}

// Apply replaces the routes and services with those of cfg (a reload).
// Listeners, admin and limits are fixed at start and must not differ.
func (g *Gateway) Apply(cfg *config.Config) error {
	return g.change(func(c *config.Config) error {
		c.Routes, c.Services, c.Proxy = cfg.Routes, cfg.Services, cfg.Proxy
		return nil
	})
}

func (g *Gateway) change(edit func(*config.Config) error) error {
	g.opsMu.Lock()
	defer g.opsMu.Unlock()
	old := g.snap.Load()
	c := old.cfg.Clone()
	if err := edit(c); err != nil {
		return err
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return err
	}
	s, err := g.compile(c, old)
	if err != nil {
		return err
	}
	g.snap.Store(s)
	g.startPools(s, old)
	return nil
}

// RouteInfo describes a route for the console and the admin API.
type RouteInfo struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Pattern  string   `json:"pattern"`
	Methods  []string `json:"methods,omitempty"`
	Hosts    []string `json:"hosts,omitempty"`
	Priority int      `json:"priority,omitempty"`
	Action   string   `json:"action"`
	Requests uint64   `json:"requests"`
	Errors   uint64   `json:"errors"`
}

// ServiceInfo describes a service.
type ServiceInfo struct {
	Name      string                 `json:"name"`
	Strategy  string                 `json:"strategy"`
	Health    string                 `json:"health"`
	Instances []balance.InstanceInfo `json:"instances"`
	Requests  uint64                 `json:"requests"`
	Errors    uint64                 `json:"errors"`
	Routes    []string               `json:"routes"`
}

// Routes lists the routes in declared order.
func (g *Gateway) Routes() []RouteInfo {
	var out []RouteInfo
	g.snap.Load().walkRoutes(func(r *liveRoute) {
		sp := r.cfg.Spec()
		action := "service " + r.cfg.Service
		switch {
		case r.cfg.Respond != nil:
			action = fmt.Sprintf("respond %d", r.cfg.Respond.Status)
		case r.cfg.StripPrefix:
			action += " (strip prefix)"
		case r.cfg.Rewrite != "":
			action += " -> " + r.cfg.Rewrite
		}
		out = append(out, RouteInfo{
			Name: r.cfg.Name, Kind: sp.Kind.String(), Pattern: sp.Pattern, Methods: sp.Methods, Hosts: sp.Hosts,
			Priority: sp.Priority, Action: action, Requests: r.requests.Load(), Errors: r.errors.Load(),
		})
	})
	return out
}

// Services lists the services by name.
func (g *Gateway) Services() []ServiceInfo {
	s := g.snap.Load()
	users := map[string][]string{}
	for _, r := range s.cfg.Routes {
		if r.Service != "" {
			users[r.Service] = append(users[r.Service], r.Name)
		}
	}
	var out []ServiceInfo
	for _, svc := range s.services {
		p := svc.pool
		si := ServiceInfo{Name: svc.name, Strategy: p.Config().Strategy, Health: p.Health().String(), Requests: svc.requests.Load(),
			Errors: svc.errors.Load(), Routes: users[svc.name]}
		for _, in := range p.Instances() {
			si.Instances = append(si.Instances, p.Info(in))
		}
		out = append(out, si)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
