package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/raygate/raygate/gateway/route"
)

// SetDefaults fills every zero field that has a default.
func (c *Config) SetDefaults() {
	if len(c.Listeners) == 0 {
		c.Listeners = []Listener{{Address: ":80"}}
	}
	for i := range c.Listeners {
		if c.Listeners[i].Name == "" {
			c.Listeners[i].Name = "http"
			if c.Listeners[i].TLS != nil {
				c.Listeners[i].Name = "https"
			}
			if i > 0 {
				c.Listeners[i].Name += strconv.Itoa(i)
			}
		}
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
	def(&l.MaxConnections, DefaultMaxConnections)
	def(&l.MaxIdleConnsPerInstance, DefaultMaxIdleConnsPerInstance)
	def(&l.MaxConnsPerInstance, DefaultMaxConnsPerInstance)
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	defd := func(v *Duration, d time.Duration) {
		if *v == 0 {
			*v = Duration(d)
		}
	}
	defd(&l.ReadHeaderTimeout, 10*time.Second)
	defd(&l.IdleTimeout, 120*time.Second)
	defd(&l.UpstreamTimeout, 60*time.Second)
	defd(&l.ConnectTimeout, 5*time.Second)
	for i := range c.Routes {
		if r := c.Routes[i].Respond; r != nil {
			r.setDefaults()
		}
	}
	c.Auth.setDefaults()
	c.Resilience.setDefaults()
	c.Mediation.setDefaults()
	if al := c.Metrics.AccessLog; al != nil && al.Sample == 0 {
		al.Sample = 1
	}
	for i := range c.Services {
		c.Services[i].setDefaults()
	}
}

func (r *Respond) setDefaults() {
	if r.Status == 0 {
		r.Status = 200
	}
	if r.ContentType == "" {
		r.ContentType = "text/plain; charset=utf-8"
	}
}

// PreserveHostOrDefault reports whether the client's Host goes upstream.
func (p Proxy) PreserveHostOrDefault() bool { return p.PreserveHost == nil || *p.PreserveHost }

// Spec converts a route's match into the route table's form.
func (r *Route) Spec() route.Spec {
	m := r.Match
	s := route.Spec{Methods: m.Methods, Hosts: m.Hosts, Headers: m.Headers, Query: m.Query, Priority: r.Priority}
	switch {
	case m.Path != "":
		s.Kind, s.Pattern = route.Exact, m.Path
	case m.Template != "":
		s.Kind, s.Pattern = route.Template, m.Template
	case m.Prefix != "":
		s.Kind, s.Pattern = route.Prefix, m.Prefix
	default:
		s.Kind, s.Pattern = route.Regex, m.Regex
	}
	return s
}

// Validate reports the first problem found, with its field path.
func (c *Config) Validate() error {
	if err := c.validateNetwork(); err != nil {
		return err
	}
	names := map[string]bool{}
	for i, l := range c.Listeners {
		at := fmt.Sprintf("listeners[%d]", i)
		if err := validListen(l.Address); err != nil {
			return errorf(at+".address", "%v", err)
		}
		if names[l.Name] {
			return errorf(at+".name", "listener %q defined twice", l.Name)
		}
		names[l.Name] = true
		if t := l.TLS; t != nil {
			pem := t.CertPEM != "" || t.KeyPEM != ""
			file := t.CertFile != "" || t.KeyFile != ""
			switch {
			case pem && file:
				return errorf(at+".tls", "give the certificate and key as PEM or as files, not both")
			case pem && (t.CertPEM == "" || t.KeyPEM == ""):
				return errorf(at+".tls", "cert_pem and key_pem are both required")
			case file && (t.CertFile == "" || t.KeyFile == ""):
				return errorf(at+".tls", "cert_file and key_file are both required")
			case !pem && !file:
				return errorf(at+".tls", "a certificate and key are required")
			}
		}
	}
	if a := c.Admin.Address; a != "" {
		if err := validListen(a); err != nil {
			return errorf("admin.address", "%v", err)
		}
		if !isLoopback(a) && c.Admin.Token == "" {
			return errorf("admin.token", "required when the admin API listens on %s (not loopback)", a)
		}
		if c.Admin.Token != "" && len(c.Admin.Token) < 16 {
			return errorf("admin.token", "shorter than 16 characters")
		}
	}
	for i, cidr := range c.Proxy.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			return errorf(fmt.Sprintf("proxy.trusted_proxies[%d]", i), "%q is not a CIDR like 10.0.0.0/8", cidr)
		}
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	if err := c.validateServices(); err != nil {
		return err
	}
	if err := c.validateRoutes(); err != nil {
		return err
	}
	if err := c.validateResilience(); err != nil {
		return err
	}
	if err := c.validateMediation(); err != nil {
		return err
	}
	if c.Metrics.MaxSeries < 0 {
		return errorf("metrics.max_series", "%d is negative", c.Metrics.MaxSeries)
	}
	if al := c.Metrics.AccessLog; al != nil && (al.Sample < 0 || al.Sample > 1) {
		return errorf("metrics.access_log.sample", "%g is outside 0..1", al.Sample)
	}
	return c.validateAuth()
}

func (c *Config) validateNetwork() error {
	n := c.Network
	if n.Address != "" {
		if p, err := netip.ParsePrefix(n.Address); err != nil || !p.Addr().Is4() {
			return errorf("network.address", "%q is not an IPv4 address with prefix, like 10.0.0.1/24", n.Address)
		}
	}
	if n.Gateway != "" {
		if a, err := netip.ParseAddr(n.Gateway); err != nil || !a.Is4() {
			return errorf("network.gateway", "%q is not an IPv4 address", n.Gateway)
		}
	}
	if n.MAC != "" {
		if m, err := net.ParseMAC(n.MAC); err != nil || len(m) != 6 {
			return errorf("network.mac", "%q is not an Ethernet address", n.MAC)
		}
	}
	if n.Resolver != "" {
		if err := validResolver(n.Resolver); err != nil {
			return errorf("network.resolver", "%v", err)
		}
	}
	return nil
}

func (c *Config) validateLimits() error {
	l := c.Limits
	for _, v := range []struct {
		name string
		val  int64
	}{
		{"max_routes", int64(l.MaxRoutes)}, {"max_services", int64(l.MaxServices)},
		{"max_instances_per_service", int64(l.MaxInstances)}, {"max_header_bytes", int64(l.MaxHeaderBytes)},
		{"max_body_bytes", l.MaxBodyBytes}, {"max_connections", int64(l.MaxConnections)},
		{"max_idle_conns_per_instance", int64(l.MaxIdleConnsPerInstance)},
		{"max_conns_per_instance", int64(l.MaxConnsPerInstance)},
	} {
		if v.val < 0 {
			return errorf("limits."+v.name, "%d is negative", v.val)
		}
	}
	if len(c.Services) > l.MaxServices {
		return errorf("services", "%d services exceed limits.max_services (%d)", len(c.Services), l.MaxServices)
	}
	if len(c.Routes) > l.MaxRoutes {
		return errorf("routes", "%d routes exceed limits.max_routes (%d)", len(c.Routes), l.MaxRoutes)
	}
	return nil
}

func (c *Config) validateServices() error {
	seen := map[string]bool{}
	for i, s := range c.Services {
		at := fmt.Sprintf("services[%d]", i)
		if err := validName(s.Name); err != nil {
			return errorf(at+".name", "%v", err)
		}
		if seen[s.Name] {
			return errorf(at+".name", "service %q defined twice", s.Name)
		}
		seen[s.Name] = true
		if len(s.Instances) == 0 && s.Discovery == nil {
			return errorf(at+".instances", "service %q has no instances and no discovery", s.Name)
		}
		if len(s.Instances) > c.Limits.MaxInstances {
			return errorf(at+".instances", "%d instances exceed limits.max_instances_per_service (%d)", len(s.Instances), c.Limits.MaxInstances)
		}
		addrs := map[string]bool{}
		total := 0
		for j, in := range s.Instances {
			if err := validDial(in.Address); err != nil {
				return errorf(fmt.Sprintf("%s.instances[%d].address", at, j), "%v", err)
			}
			if addrs[in.Address] {
				return errorf(fmt.Sprintf("%s.instances[%d].address", at, j), "%s listed twice", in.Address)
			}
			addrs[in.Address] = true
			if w := in.W(); w < 0 || w > 1000 {
				return errorf(fmt.Sprintf("%s.instances[%d].weight", at, j), "%d is outside 0..1000", w)
			}
			total += in.W()
		}
		if total == 0 && s.Discovery == nil {
			return errorf(at+".instances", "every instance of %q has weight 0", s.Name)
		}
		if err := c.validateBalancing(i, s); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) validateRoutes() error {
	services := map[string]bool{}
	for _, s := range c.Services {
		services[s.Name] = true
	}
	seen := map[string]bool{}
	entries := make([]route.Entry[int], 0, len(c.Routes))
	for i, r := range c.Routes {
		at := fmt.Sprintf("routes[%d]", i)
		if err := validName(r.Name); err != nil {
			return errorf(at+".name", "%v", err)
		}
		if seen[r.Name] {
			return errorf(at+".name", "route %q defined twice", r.Name)
		}
		seen[r.Name] = true
		m := r.Match
		n := 0
		for _, p := range []string{m.Path, m.Prefix, m.Template, m.Regex} {
			if p != "" {
				n++
			}
		}
		if n != 1 {
			return errorf(at+".match", "route %q needs exactly one of path, prefix, template or regex (has %d)", r.Name, n)
		}
		for j, meth := range m.Methods {
			if meth == "" || strings.ToUpper(meth) != meth || strings.ContainsAny(meth, " \t/") {
				return errorf(fmt.Sprintf("%s.match.methods[%d]", at, j), "%q is not an upper-case method name", meth)
			}
		}
		switch {
		case r.Service == "" && r.Respond == nil:
			return errorf(at, "route %q needs service or respond", r.Name)
		case r.Service != "" && r.Respond != nil:
			return errorf(at, "route %q has both service and respond", r.Name)
		case r.Service != "" && !services[r.Service]:
			return errorf(at+".service", "no service named %q", r.Service)
		case r.Respond != nil && (r.Respond.Status < 100 || r.Respond.Status > 599):
			return errorf(at+".respond.status", "%d is not an HTTP status", r.Respond.Status)
		case r.StripPrefix && m.Prefix == "":
			return errorf(at+".strip_prefix", "route %q has no prefix to strip", r.Name)
		case r.StripPrefix && r.Rewrite != "":
			return errorf(at+".rewrite", "route %q has both strip_prefix and rewrite", r.Name)
		case r.Respond != nil && (r.StripPrefix || r.Rewrite != ""):
			return errorf(at, "route %q answers directly: strip_prefix and rewrite do not apply", r.Name)
		}
		if r.Rewrite != "" {
			if err := checkRewrite(r.Rewrite, r.Match); err != nil {
				return errorf(at+".rewrite", "%v", err)
			}
		}
		entries = append(entries, route.Entry[int]{Name: r.Name, Spec: r.Spec(), Value: i})
	}
	if _, err := route.Build(entries); err != nil {
		var be *route.BuildError
		if errors.As(err, &be) {
			return errorf(fmt.Sprintf("routes[%d].match", be.Index), "%v", be.Err)
		}
		return errorf("routes", "%v", err)
	}
	return nil
}

// checkRewrite makes sure every {name} in a rewrite template is captured
// by the route's pattern.
func checkRewrite(tpl string, m Match) error {
	if !strings.HasPrefix(tpl, "/") {
		return fmt.Errorf("%q must start with /", tpl)
	}
	have := map[string]bool{}
	switch {
	case m.Template != "":
		for _, seg := range strings.Split(m.Template, "/") {
			switch {
			case seg == "**":
				have["**"] = true
			case seg == "*":
				have["*"] = true
			case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
				have[seg[1:len(seg)-1]] = true
			}
		}
	case m.Regex != "":
		re, err := regexpCompile(m.Regex)
		if err != nil {
			return nil // reported by the route table
		}
		for _, n := range re.SubexpNames() {
			if n != "" {
				have[n] = true
			}
		}
	}
	for rest := tpl; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("unclosed { in %q", tpl)
		}
		name := rest[i+1 : i+j]
		if !have[name] {
			return fmt.Errorf("{%s} in %q is not a parameter of the route's match", name, tpl)
		}
		rest = rest[i+j+1:]
	}
	return nil
}

func validName(n string) error {
	if n == "" {
		return errors.New("required")
	}
	if len(n) > 64 {
		return fmt.Errorf("%q is longer than 64 characters", n)
	}
	for _, c := range n {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("%q may hold only letters, digits, '-', '_' and '.'", n)
		}
	}
	return nil
}

func validListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q in %q is not 0..65535", port, s)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil && host != "localhost" {
			return fmt.Errorf("host %q in %q is not an IP address", host, s)
		}
	}
	return nil
}

func validDial(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not host:port", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("port %q in %q is not 1..65535", port, s)
	}
	if strings.ContainsAny(host, " /@?#") {
		return fmt.Errorf("host %q in %q is malformed", host, s)
	}
	return nil
}

func isLoopback(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func regexpCompile(s string) (*regexp.Regexp, error) { return regexp.Compile(s) }
