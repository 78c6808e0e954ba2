// Package config defines raygate's configuration file (YAML), parses it
// strictly (unknown fields are errors), fills defaults and validates it.
// It is plain data: no network, no goroutines.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration file.
type Config struct {
	// Network is the image's interface configuration; hosted mode ignores it.
	Network Network `yaml:"network"`
	// Listen is the gateway's listening address, "host:port"; default ":80".
	Listen string `yaml:"listen"`
	// Routes are matched in the order described in the route package.
	Routes []Route `yaml:"routes"`
	// Services are the named pools routes forward to.
	Services []Service `yaml:"services"`
	// Limits bound what one request and the tables may take.
	Limits Limits `yaml:"limits"`
}

// Network is the static IPv4 configuration of the image's NIC.
type Network struct {
	// Address is the interface address with prefix, e.g. "10.0.0.1/24".
	Address string `yaml:"address"`
	// Gateway is the default route's next hop, e.g. "10.0.0.2".
	Gateway string `yaml:"gateway"`
	// MAC overrides the NIC's hardware address; empty keeps the NIC's own.
	MAC string `yaml:"mac"`
}

// Route sends matching requests to a service or answers them directly.
type Route struct {
	// Name identifies the route in logs, metrics and the shell.
	Name string `yaml:"name"`
	// Match says which requests the route takes.
	Match Match `yaml:"match"`
	// Service names the pool to forward to (exclusive with Respond).
	Service string `yaml:"service"`
	// StripPrefix removes Match.Prefix from the forwarded path.
	StripPrefix bool `yaml:"strip_prefix"`
	// Respond answers without a backend (exclusive with Service).
	Respond *Respond `yaml:"respond"`
}

// Match selects requests by path and method.
type Match struct {
	// Path matches one exact path.
	Path string `yaml:"path"`
	// Prefix matches every path starting with it.
	Prefix string `yaml:"prefix"`
	// Methods restricts the route to these methods; empty means any.
	Methods []string `yaml:"methods"`
}

// Respond is a fixed answer.
type Respond struct {
	Status      int    `yaml:"status"`
	Body        string `yaml:"body"`
	ContentType string `yaml:"content_type"`
}

// Service is a named pool of instances.
type Service struct {
	Name      string     `yaml:"name"`
	Instances []Instance `yaml:"instances"`
}

// Instance is one backend address.
type Instance struct {
	// Address is "host:port".
	Address string `yaml:"address"`
	// Weight is the instance's share of traffic; default 1.
	Weight int `yaml:"weight"`
}

// Limits bound the gateway's resources. Zero means the default.
type Limits struct {
	MaxRoutes            int `yaml:"max_routes"`
	MaxServices          int `yaml:"max_services"`
	MaxInstances         int `yaml:"max_instances_per_service"`
	MaxHeaderBytes       int `yaml:"max_header_bytes"`
	MaxIdleConnsPerHost  int `yaml:"max_idle_conns_per_instance"`
	ReadHeaderTimeoutSec int `yaml:"read_header_timeout_seconds"`
	IdleTimeoutSec       int `yaml:"idle_timeout_seconds"`
}

// Defaults, sized for a 512 MiB board.
const (
	DefaultMaxRoutes           = 512
	DefaultMaxServices         = 256
	DefaultMaxInstances        = 16
	DefaultMaxHeaderBytes      = 64 << 10
	DefaultMaxIdleConnsPerHost = 32
	DefaultReadHeaderTimeout   = 10
	DefaultIdleTimeout         = 120
)

// Parse decodes and validates a configuration. name is used in messages.
func Parse(name string, data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty configuration", name)
		}
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
}

// Load reads and parses a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = ":80"
	}
	l := &c.Limits
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MaxRoutes, DefaultMaxRoutes)
	def(&l.MaxServices, DefaultMaxServices)
	def(&l.MaxInstances, DefaultMaxInstances)
	def(&l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	def(&l.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost)
	def(&l.ReadHeaderTimeoutSec, DefaultReadHeaderTimeout)
	def(&l.IdleTimeoutSec, DefaultIdleTimeout)
	for i := range c.Services {
		for j := range c.Services[i].Instances {
			if c.Services[i].Instances[j].Weight == 0 {
				c.Services[i].Instances[j].Weight = 1
			}
		}
	}
	for i := range c.Routes {
		if r := c.Routes[i].Respond; r != nil {
			if r.Status == 0 {
				r.Status = 200
			}
			if r.ContentType == "" {
				r.ContentType = "text/plain; charset=utf-8"
			}
		}
	}
}

// Validate reports the first problem found, naming the field path.
func (c *Config) Validate() error {
	if err := validHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %v", err)
	}
	if c.Network.Address != "" {
		if p, err := netip.ParsePrefix(c.Network.Address); err != nil || !p.Addr().Is4() {
			return fmt.Errorf("network.address: %q is not an IPv4 address with prefix, like 10.0.0.1/24", c.Network.Address)
		}
	}
	if c.Network.Gateway != "" {
		if a, err := netip.ParseAddr(c.Network.Gateway); err != nil || !a.Is4() {
			return fmt.Errorf("network.gateway: %q is not an IPv4 address", c.Network.Gateway)
		}
	}
	if c.Network.MAC != "" {
		if m, err := net.ParseMAC(c.Network.MAC); err != nil || len(m) != 6 {
			return fmt.Errorf("network.mac: %q is not an Ethernet address", c.Network.MAC)
		}
	}
	l := c.Limits
	for _, v := range []struct {
		name string
		val  int
	}{
		{"max_routes", l.MaxRoutes}, {"max_services", l.MaxServices}, {"max_instances_per_service", l.MaxInstances},
		{"max_header_bytes", l.MaxHeaderBytes}, {"max_idle_conns_per_instance", l.MaxIdleConnsPerHost},
		{"read_header_timeout_seconds", l.ReadHeaderTimeoutSec}, {"idle_timeout_seconds", l.IdleTimeoutSec},
	} {
		if v.val < 0 {
			return fmt.Errorf("limits.%s: %d is negative", v.name, v.val)
		}
	}
	if len(c.Services) > l.MaxServices {
		return fmt.Errorf("services: %d services exceed limits.max_services (%d)", len(c.Services), l.MaxServices)
	}
	if len(c.Routes) > l.MaxRoutes {
		return fmt.Errorf("routes: %d routes exceed limits.max_routes (%d)", len(c.Routes), l.MaxRoutes)
	}

	services := map[string]bool{}
	for i, s := range c.Services {
		at := fmt.Sprintf("services[%d]", i)
		if s.Name == "" {
			return fmt.Errorf("%s.name: required", at)
		}
		if services[s.Name] {
			return fmt.Errorf("%s.name: service %q defined twice", at, s.Name)
		}
		services[s.Name] = true
		if len(s.Instances) == 0 {
			return fmt.Errorf("%s.instances: service %q has no instances", at, s.Name)
		}
		if len(s.Instances) > l.MaxInstances {
			return fmt.Errorf("%s.instances: %d instances exceed limits.max_instances_per_service (%d)", at, len(s.Instances), l.MaxInstances)
		}
		for j, in := range s.Instances {
			if err := validHostPort(in.Address); err != nil || strings.HasPrefix(in.Address, ":") {
				return fmt.Errorf("%s.instances[%d].address: %q is not host:port", at, j, in.Address)
			}
			if in.Weight < 0 {
				return fmt.Errorf("%s.instances[%d].weight: %d is negative", at, j, in.Weight)
			}
		}
	}

	routes := map[string]bool{}
	for i, r := range c.Routes {
		at := fmt.Sprintf("routes[%d]", i)
		if r.Name == "" {
			return fmt.Errorf("%s.name: required", at)
		}
		if routes[r.Name] {
			return fmt.Errorf("%s.name: route %q defined twice", at, r.Name)
		}
		routes[r.Name] = true
		m := r.Match
		switch {
		case m.Path == "" && m.Prefix == "":
			return fmt.Errorf("%s.match: route %q needs path or prefix", at, r.Name)
		case m.Path != "" && m.Prefix != "":
			return fmt.Errorf("%s.match: route %q has both path and prefix", at, r.Name)
		case m.Path != "" && !strings.HasPrefix(m.Path, "/"):
			return fmt.Errorf("%s.match.path: %q must start with /", at, m.Path)
		case m.Prefix != "" && !strings.HasPrefix(m.Prefix, "/"):
			return fmt.Errorf("%s.match.prefix: %q must start with /", at, m.Prefix)
		}
		for j, meth := range m.Methods {
			if meth == "" || strings.ToUpper(meth) != meth || strings.ContainsAny(meth, " \t/") {
				return fmt.Errorf("%s.match.methods[%d]: %q is not an upper-case method name", at, j, meth)
			}
		}
		switch {
		case r.Service == "" && r.Respond == nil:
			return fmt.Errorf("%s: route %q needs service or respond", at, r.Name)
		case r.Service != "" && r.Respond != nil:
			return fmt.Errorf("%s: route %q has both service and respond", at, r.Name)
		case r.Service != "" && !services[r.Service]:
			return fmt.Errorf("%s.service: no service named %q", at, r.Service)
		case r.Respond != nil && (r.Respond.Status < 100 || r.Respond.Status > 599):
			return fmt.Errorf("%s.respond.status: %d is not an HTTP status", at, r.Respond.Status)
		case r.StripPrefix && m.Prefix == "":
			return fmt.Errorf("%s.strip_prefix: route %q has no prefix to strip", at, r.Name)
		}
	}
	return nil
}

func validHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q in %q is not 1..65535", port, s)
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("host %q in %q is malformed", host, s)
	}
	return nil
}
