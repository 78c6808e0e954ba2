package config

// Resilience holds named policies (services refer to them) and rate limits
// (routes refer to them).
type Resilience struct {
	// Policies combine a breaker, retries, a bulkhead and a timeout.
	Policies []Policy `yaml:"policies,omitempty" json:"policies"`
	// RateLimits are named limits routes can apply.
	RateLimits []RateLimit `yaml:"rate_limits,omitempty" json:"rate_limits"`
	// Shedding answers 503 at once, low-criticality routes first, when the
	// gateway is overloaded, rather than let every request time out.
	Shedding *Shedding `yaml:"shedding,omitempty" json:"shedding"`
}

// Shedding sets the overload thresholds.
type Shedding struct {
	// MaxInFlight: past 80% of it low-criticality routes are shed, past it
	// normal ones too; critical routes never are.
	MaxInFlight int `yaml:"max_in_flight" json:"max_in_flight"`
	// Latency: when the average request takes longer, low-criticality
	// routes are shed (default 0: off).
	Latency Duration `yaml:"latency,omitempty" json:"latency"`
}

// Policy is a named resilience policy for a service.
type Policy struct {
	Name string `yaml:"name" json:"name"`
	// Breaker stops calling a failing service for a while.
	Breaker *Breaker `yaml:"breaker,omitempty" json:"breaker"`
	// Retry retries failed attempts, within a budget.
	Retry *Retry `yaml:"retry,omitempty" json:"retry"`
	// Bulkhead caps concurrent requests to the service.
	Bulkhead *Bulkhead `yaml:"bulkhead,omitempty" json:"bulkhead"`
	// Timeout bounds a request to the service, all attempts included.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout"`
}

// Breaker is a circuit breaker: closed, open, half-open.
type Breaker struct {
	// ConsecutiveFailures trip it (default 5; a negative value disables).
	ConsecutiveFailures int `yaml:"consecutive_failures,omitempty" json:"consecutive_failures"`
	// FailureRate (percent) over Window trips it once MinRequests were seen
	// (default 50; a negative value disables).
	FailureRate int `yaml:"failure_rate,omitempty" json:"failure_rate"`
	// Window is the rolling window of the rates (default 10s).
	Window Duration `yaml:"window,omitempty" json:"window"`
	// MinRequests in the window before rates count (default 20).
	MinRequests int `yaml:"min_requests,omitempty" json:"min_requests"`
	// SlowCall is the latency above which a call is slow (default 0: off).
	SlowCall Duration `yaml:"slow_call,omitempty" json:"slow_call"`
	// SlowRate (percent) of slow calls over Window trips it (default 80).
	SlowRate int `yaml:"slow_rate,omitempty" json:"slow_rate"`
	// Open is how long it stays open the first time (default 5s); each
	// repeated trip doubles it, up to MaxOpen (default 1m).
	Open    Duration `yaml:"open,omitempty" json:"open"`
	MaxOpen Duration `yaml:"max_open,omitempty" json:"max_open"`
	// HalfOpenRequests are the probes let through when half-open (default 3).
	HalfOpenRequests int `yaml:"half_open_requests,omitempty" json:"half_open_requests"`
	// On lists what counts as a failure: connect, timeout, 5xx (default all).
	On []string `yaml:"on,omitempty" json:"on"`
}

// Retry retries failed attempts with exponential backoff and full jitter.
type Retry struct {
	// Attempts in all, the first included (default 3).
	Attempts int `yaml:"attempts,omitempty" json:"attempts"`
	// Backoff before the first retry (default 25ms), times Multiplier
	// (default 2) for each next one, capped at MaxBackoff (default 1s); the
	// wait is a random duration up to that (full jitter).
	Backoff    Duration `yaml:"backoff,omitempty" json:"backoff"`
	Multiplier float64  `yaml:"multiplier,omitempty" json:"multiplier"`
	MaxBackoff Duration `yaml:"max_backoff,omitempty" json:"max_backoff"`
	// PerTryTimeout bounds one attempt (default 0: only the overall timeout).
	PerTryTimeout Duration `yaml:"per_try_timeout,omitempty" json:"per_try_timeout"`
	// OnStatus are the statuses retried (default 502, 503, 504).
	OnStatus []int `yaml:"on_status,omitempty" json:"on_status"`
	// Methods retried (default the idempotent ones: GET, HEAD, OPTIONS,
	// PUT, DELETE).
	Methods []string `yaml:"methods,omitempty" json:"methods"`
	// BufferBytes: request bodies up to this size are kept so they can be
	// sent again (default 64 KiB); larger bodies are never retried.
	BufferBytes int `yaml:"buffer_bytes,omitempty" json:"buffer_bytes"`
	// BudgetPercent caps retries at this share of requests (default 20),
	// plus BudgetMinPerSecond (default 3), so retries cannot multiply load
	// during an outage.
	BudgetPercent      int `yaml:"budget_percent,omitempty" json:"budget_percent"`
	BudgetMinPerSecond int `yaml:"budget_min_per_second,omitempty" json:"budget_min_per_second"`
}

// Bulkhead caps concurrency with a bounded, timed wait queue.
type Bulkhead struct {
	MaxConcurrent int      `yaml:"max_concurrent" json:"max_concurrent"`
	Queue         int      `yaml:"queue,omitempty" json:"queue"`
	QueueTimeout  Duration `yaml:"queue_timeout,omitempty" json:"queue_timeout"`
}

// RateLimit is a named limit.
type RateLimit struct {
	Name string `yaml:"name" json:"name"`
	// Algorithm is token_bucket (default) or sliding_window.
	Algorithm string `yaml:"algorithm,omitempty" json:"algorithm"`
	// Requests per Period (default 1s).
	Requests int      `yaml:"requests" json:"requests"`
	Period   Duration `yaml:"period,omitempty" json:"period"`
	// Burst is the token bucket's depth (default Requests).
	Burst int `yaml:"burst,omitempty" json:"burst"`
	// Key is what is limited: client_ip (default), api_key, subject
	// (the authenticated identity) or route (everyone together).
	Key string `yaml:"key,omitempty" json:"key"`
	// MaxKeys bounds the keys tracked (default 10000); idle keys expire.
	MaxKeys int `yaml:"max_keys,omitempty" json:"max_keys"`
}
