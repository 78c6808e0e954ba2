// Package config defines raygate's configuration file (YAML), parses it
// strictly (unknown fields are errors), fills defaults and validates it,
// naming the file, line and field path of every problem. It is plain data:
// no network, no goroutines. configs/raygate.schema.json is generated from
// these types (see schema.go) for editors.
package config

// Config is the whole configuration file.
type Config struct {
	// Network is the image's interface configuration; hosted mode ignores it.
	Network Network `yaml:"network,omitempty" json:"network"`
	// Listeners are the addresses the gateway serves on.
	Listeners []Listener `yaml:"listeners" json:"listeners"`
	// Admin is the admin API's listener; disabled when its address is empty.
	Admin Admin `yaml:"admin,omitempty" json:"admin"`
	// Proxy holds forwarding behaviour common to every route.
	Proxy Proxy `yaml:"proxy,omitempty" json:"proxy"`
	// Auth configures credentials and identities; routes opt in.
	Auth Auth `yaml:"auth,omitempty" json:"auth"`
	// Resilience holds breaker, retry, bulkhead and rate limit policies.
	Resilience Resilience `yaml:"resilience,omitempty" json:"resilience"`
	// Mediation holds schemas, descriptor sets, the response cache's
	// bounds and the mediation policies routes apply.
	Mediation Mediation `yaml:"mediation,omitempty" json:"mediation"`
	// Metrics configures figures and the access log.
	Metrics Metrics `yaml:"metrics,omitempty" json:"metrics"`
	// Routes say which requests go where. See the route package for the
	// precedence between them.
	Routes []Route `yaml:"routes" json:"routes"`
	// Services are the named pools of instances routes forward to.
	Services []Service `yaml:"services,omitempty" json:"services"`
	// Limits bound what requests and tables may take; zero means default.
	Limits Limits `yaml:"limits,omitempty" json:"limits"`
}

// Network is the static IPv4 configuration of the image's NIC.
type Network struct {
	// Address is the interface address with prefix, e.g. "10.0.0.1/24".
	Address string `yaml:"address,omitempty" json:"address"`
	// Gateway is the default route's next hop, e.g. "10.0.0.2".
	Gateway string `yaml:"gateway,omitempty" json:"gateway"`
	// MAC overrides the NIC's hardware address; empty keeps the NIC's own.
	MAC string `yaml:"mac,omitempty" json:"mac"`
	// Resolver is the DNS server ("host:port") used for service discovery,
	// in the image and in hosted mode.
	Resolver string `yaml:"resolver,omitempty" json:"resolver"`
}

// Listener is one address the gateway serves on.
type Listener struct {
	// Name identifies the listener in the shell and logs; default "http" or "https".
	Name string `yaml:"name,omitempty" json:"name"`
	// Address is "host:port"; an empty host means every address.
	Address string `yaml:"address" json:"address"`
	// TLS, when set, terminates TLS on this listener and offers HTTP/2.
	TLS *TLS `yaml:"tls,omitempty" json:"tls"`
}

// TLS is a certificate and its key, as PEM text in the file (the image has
// no filesystem) or, in hosted mode, as paths to PEM files.
type TLS struct {
	// CertPEM is the certificate chain in PEM form.
	CertPEM string `yaml:"cert_pem,omitempty" json:"cert_pem"`
	// KeyPEM is the private key in PEM form.
	KeyPEM string `yaml:"key_pem,omitempty" json:"key_pem"`
	// CertFile is a path to the certificate chain (hosted mode).
	CertFile string `yaml:"cert_file,omitempty" json:"cert_file"`
	// KeyFile is a path to the private key (hosted mode).
	KeyFile string `yaml:"key_file,omitempty" json:"key_file"`
}

// Admin configures the admin API.
type Admin struct {
	// Address is "host:port" for the admin API; empty disables it. An
	// address other than loopback requires Token.
	Address string `yaml:"address,omitempty" json:"address"`
	// Token is the bearer token the admin API requires; required when the
	// address is not loopback, optional otherwise.
	Token string `yaml:"token,omitempty" json:"token"`
}

// Proxy holds forwarding behaviour common to every route.
type Proxy struct {
	// TrustedProxies are CIDRs whose X-Forwarded-For and Forwarded headers
	// are kept and appended to; from anyone else they are replaced.
	TrustedProxies []string `yaml:"trusted_proxies,omitempty" json:"trusted_proxies"`
	// PreserveHost sends the client's Host header upstream (default true).
	PreserveHost *bool `yaml:"preserve_host,omitempty" json:"preserve_host"`
}

// Route sends matching requests to a service or answers them directly.
type Route struct {
	// Name identifies the route in logs, metrics and the shell.
	Name string `yaml:"name" json:"name"`
	// Match says which requests the route takes.
	Match Match `yaml:"match" json:"match"`
	// Priority overrides the precedence: higher wins (default 0).
	Priority int `yaml:"priority,omitempty" json:"priority"`
	// Service names the pool to forward to (exclusive with Respond).
	Service string `yaml:"service,omitempty" json:"service"`
	// StripPrefix removes the matched prefix from the forwarded path.
	StripPrefix bool `yaml:"strip_prefix,omitempty" json:"strip_prefix"`
	// Rewrite replaces the forwarded path with a template using the route's
	// parameters, e.g. "/internal/users/{id}"; "{**}" is a "**" tail.
	Rewrite string `yaml:"rewrite,omitempty" json:"rewrite"`
	// Respond answers without a backend (exclusive with Service).
	Respond *Respond `yaml:"respond,omitempty" json:"respond"`
	// Auth, when set, requires callers to authenticate and be allowed.
	Auth *RouteAuth `yaml:"auth,omitempty" json:"auth"`
	// RateLimit names a limit of resilience.rate_limits.
	RateLimit string `yaml:"rate_limit,omitempty" json:"rate_limit"`
	// Timeout bounds the whole request on this route, upstream attempts
	// and body streaming included (default 0: the service policy's, if any).
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout"`
	// Mediation names a policy of mediation.policies: validation,
	// conversion, transforms, caching and error bodies for this route.
	Mediation string `yaml:"mediation,omitempty" json:"mediation"`
	// Criticality decides what is shed first under overload: low, normal
	// (default) or critical (never shed).
	Criticality string `yaml:"criticality,omitempty" json:"criticality"`
}

// Match selects requests. Exactly one of Path, Prefix, Template or Regex.
type Match struct {
	// Path matches one exact path.
	Path string `yaml:"path,omitempty" json:"path"`
	// Prefix matches a path and everything below it, by whole segments.
	Prefix string `yaml:"prefix,omitempty" json:"prefix"`
	// Template matches segments: literals, {name}, * and a final **.
	Template string `yaml:"template,omitempty" json:"template"`
	// Regex is an RE2 expression matched against the whole path; named
	// groups become parameters.
	Regex string `yaml:"regex,omitempty" json:"regex"`
	// Methods restricts the route to these methods; empty means any.
	Methods []string `yaml:"methods,omitempty" json:"methods"`
	// Hosts restricts the route to these hosts ("*.example.com" allowed).
	Hosts []string `yaml:"hosts,omitempty" json:"hosts"`
	// Headers requires these header values ("*" means present).
	Headers map[string]string `yaml:"headers,omitempty" json:"headers"`
	// Query requires these query parameter values ("*" means present).
	Query map[string]string `yaml:"query,omitempty" json:"query"`
}

// Respond is a fixed answer.
type Respond struct {
	// Status is the HTTP status; default 200.
	Status int `yaml:"status,omitempty" json:"status"`
	// Body is the response body.
	Body string `yaml:"body,omitempty" json:"body"`
	// ContentType defaults to "text/plain; charset=utf-8".
	ContentType string `yaml:"content_type,omitempty" json:"content_type"`
	// Headers are added to the response.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers"`
}

// Service is a named pool of instances.
type Service struct {
	// Name identifies the service; routes refer to it.
	Name string `yaml:"name" json:"name"`
	// Instances are the backends, as host:port with a weight.
	Instances []Instance `yaml:"instances,omitempty" json:"instances"`
	// Discovery finds instances in DNS (added to the static ones).
	Discovery *Discovery `yaml:"discovery,omitempty" json:"discovery"`
	// Strategy picks an instance: round_robin (default), least_conn,
	// weighted_round_robin or consistent_hash.
	Strategy string `yaml:"strategy,omitempty" json:"strategy"`
	// HashOn is consistent_hash's key: client_ip (default),
	// header:<name> or cookie:<name>.
	HashOn string `yaml:"hash_on,omitempty" json:"hash_on"`
	// HealthCheck probes instances actively.
	HealthCheck *HealthCheck `yaml:"health_check,omitempty" json:"health_check"`
	// Outlier ejects instances that fail requests (passive health).
	Outlier Outlier `yaml:"outlier,omitempty" json:"outlier"`
	// SlowStart ramps a recovered instance's share of traffic over this
	// window (default 0: at once).
	SlowStart Duration `yaml:"slow_start,omitempty" json:"slow_start"`
	// DegradedFactor: an instance whose latency exceeds the pool's average
	// by this factor is degraded and gets a quarter of its share (default
	// 3; 0 keeps the default, a negative value turns it off).
	DegradedFactor float64 `yaml:"degraded_factor,omitempty" json:"degraded_factor"`
	// Resilience names a policy of resilience.policies.
	Resilience string `yaml:"resilience,omitempty" json:"resilience"`
	// PanicThreshold is a percentage: when fewer instances than this are
	// healthy, traffic spreads over all of them, as Envoy does (default 0:
	// off, and no healthy instance means 503).
	PanicThreshold int `yaml:"panic_threshold,omitempty" json:"panic_threshold"`
}

// Discovery resolves a service's instances in DNS.
type Discovery struct {
	// DNS is a host name whose A records are the instances (with Port).
	DNS string `yaml:"dns,omitempty" json:"dns"`
	// SRV is a record name such as _http._tcp.api.example (targets and ports).
	SRV string `yaml:"srv,omitempty" json:"srv"`
	// Port is the instances' port for DNS A records.
	Port int `yaml:"port,omitempty" json:"port"`
	// MinTTL and MaxTTL bound the re-resolution interval, which otherwise
	// follows the records' TTL (defaults 5s and 5m).
	MinTTL Duration `yaml:"min_ttl,omitempty" json:"min_ttl"`
	MaxTTL Duration `yaml:"max_ttl,omitempty" json:"max_ttl"`
}

// HealthCheck is an active HTTP probe.
type HealthCheck struct {
	// Path is requested with GET (default "/healthz").
	Path string `yaml:"path,omitempty" json:"path"`
	// Interval between probes of one instance (default 5s), jittered by up
	// to a tenth so probes do not align.
	Interval Duration `yaml:"interval,omitempty" json:"interval"`
	// Timeout of one probe (default 2s).
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout"`
	// Expect is the healthy status range, e.g. "200-399" (the default).
	Expect string `yaml:"expect,omitempty" json:"expect"`
	// HealthyThreshold consecutive successes mark an instance healthy (default 2).
	HealthyThreshold int `yaml:"healthy_threshold,omitempty" json:"healthy_threshold"`
	// UnhealthyThreshold consecutive failures mark it unhealthy (default 3).
	UnhealthyThreshold int `yaml:"unhealthy_threshold,omitempty" json:"unhealthy_threshold"`
}

// Outlier is passive health checking: ejection after failed requests.
type Outlier struct {
	// ConsecutiveFailures (connection failures or 5xx) eject an instance
	// (default 5; a negative value turns ejection off).
	ConsecutiveFailures int `yaml:"consecutive_failures,omitempty" json:"consecutive_failures"`
	// BaseEjection is the first ejection's length; each repeat adds one
	// more (default 10s).
	BaseEjection Duration `yaml:"base_ejection,omitempty" json:"base_ejection"`
	// MaxEjection caps an ejection (default 5m).
	MaxEjection Duration `yaml:"max_ejection,omitempty" json:"max_ejection"`
	// MaxEjectedPercent caps the share of a pool ejected at once (default 50).
	MaxEjectedPercent int `yaml:"max_ejected_percent,omitempty" json:"max_ejected_percent"`
}

// Instance is one backend address.
type Instance struct {
	// Address is "host:port".
	Address string `yaml:"address" json:"address"`
	// Weight is the instance's share of traffic; default 1, 0 means none.
	Weight *int `yaml:"weight,omitempty" json:"weight"`
}

// W returns the instance's weight, defaulting to 1.
func (in Instance) W() int {
	if in.Weight == nil {
		return 1
	}
	return *in.Weight
}

// Limits bound the gateway's resources. Zero means the default.
type Limits struct {
	// MaxRoutes bounds the route table (default 512).
	MaxRoutes int `yaml:"max_routes,omitempty" json:"max_routes"`
	// MaxServices bounds the service registry (default 256).
	MaxServices int `yaml:"max_services,omitempty" json:"max_services"`
	// MaxInstances bounds one service's pool (default 16).
	MaxInstances int `yaml:"max_instances_per_service,omitempty" json:"max_instances_per_service"`
	// MaxHeaderBytes bounds a request's header block (default 64 KiB).
	MaxHeaderBytes int `yaml:"max_header_bytes,omitempty" json:"max_header_bytes"`
	// MaxBodyBytes bounds a request body; 0 means the default, 1 GiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes,omitempty" json:"max_body_bytes"`
	// MaxConnections bounds concurrent client connections per listener (default 4096).
	MaxConnections int `yaml:"max_connections,omitempty" json:"max_connections"`
	// MaxIdleConnsPerInstance bounds each instance's keep-alive pool (default 32).
	MaxIdleConnsPerInstance int `yaml:"max_idle_conns_per_instance,omitempty" json:"max_idle_conns_per_instance"`
	// MaxConnsPerInstance bounds connections to one instance; 0 means 256.
	MaxConnsPerInstance int `yaml:"max_conns_per_instance,omitempty" json:"max_conns_per_instance"`
	// ReadHeaderTimeout bounds reading a request's headers (default 10s).
	ReadHeaderTimeout Duration `yaml:"read_header_timeout,omitempty" json:"read_header_timeout"`
	// IdleTimeout closes idle client keep-alive connections (default 120s).
	IdleTimeout Duration `yaml:"idle_timeout,omitempty" json:"idle_timeout"`
	// UpstreamTimeout bounds waiting for an upstream's response headers (default 60s).
	UpstreamTimeout Duration `yaml:"upstream_timeout,omitempty" json:"upstream_timeout"`
	// ConnectTimeout bounds connecting to an instance (default 5s).
	ConnectTimeout Duration `yaml:"connect_timeout,omitempty" json:"connect_timeout"`
}

// Defaults, sized for a 512 MiB board.
const (
	DefaultMaxRoutes               = 512
	DefaultMaxServices             = 256
	DefaultMaxInstances            = 16
	DefaultMaxHeaderBytes          = 64 << 10
	DefaultMaxBodyBytes            = 1 << 30
	DefaultMaxConnections          = 4096
	DefaultMaxIdleConnsPerInstance = 32
	DefaultMaxConnsPerInstance     = 256
)

// Metrics configures the monitoring stage.
type Metrics struct {
	// MaxSeries bounds the per-route series (default 512; about 42 KB each).
	MaxSeries int `yaml:"max_series,omitempty" json:"max_series"`
	// AccessLog, when set, writes one line per request (the console in the
	// image, stderr in hosted mode).
	AccessLog *AccessLog `yaml:"access_log,omitempty" json:"access_log"`
}

// AccessLog configures the access log.
type AccessLog struct {
	// Sample is the share of requests logged, 0..1 (default 1).
	Sample float64 `yaml:"sample,omitempty" json:"sample"`
	// OffRoutes are routes never logged (health checks, say).
	OffRoutes []string `yaml:"off_routes,omitempty" json:"off_routes"`
}
