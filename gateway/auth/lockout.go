package auth

import (
	"sort"
	"sync"
	"time"

	"github.com/raygate/raygate/gateway/config"
)

// lockout counts failed attempts per client address and per credential in
// a fixed window; past MaxFailures the key is locked out for Duration. The
// table is bounded: expired entries go first, then the least recent.
type lockout struct {
	max      int
	window   time.Duration
	duration time.Duration
	tracked  int

	mu      sync.Mutex
	entries map[string]*lockEntry
}

type lockEntry struct {
	failures    int
	windowStart time.Time
	last        time.Time
	until       time.Time
	lockouts    int
}

func newLockout(cfg config.Lockout) *lockout {
	return &lockout{max: cfg.MaxFailures, window: cfg.Window.D(), duration: cfg.Duration.D(), tracked: cfg.MaxTracked,
		entries: map[string]*lockEntry{}}
}

// lockedFor returns how long key stays locked out (0 when it is not).
func (l *lockout) lockedFor(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entries[key]; e != nil && now.Before(e.until) {
		return e.until.Sub(now)
	}
	return 0
}

// fail records a failed attempt against key.
func (l *lockout) fail(key string, now time.Time) {
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	if e == nil {
		l.makeRoomLocked(now)
		e = &lockEntry{windowStart: now}
		l.entries[key] = e
	}
	if now.Sub(e.windowStart) > l.window {
		e.failures, e.windowStart = 0, now
	}
	e.failures++
	e.last = now
	if e.failures >= l.max && !now.Before(e.until) {
		e.until = now.Add(l.duration)
		e.lockouts++
		e.failures = 0
	}
}

func (l *lockout) makeRoomLocked(now time.Time) {
	if len(l.entries) < l.tracked {
		return
	}
	var oldestKey string
	var oldest time.Time
	for k, e := range l.entries {
		if !now.Before(e.until) && now.Sub(e.windowStart) > l.window {
			delete(l.entries, k)
			continue
		}
		if oldestKey == "" || e.last.Before(oldest) {
			oldestKey, oldest = k, e.last
		}
	}
	if len(l.entries) >= l.tracked {
		delete(l.entries, oldestKey)
	}
}

// FailureInfo describes one tracked address or credential.
type FailureInfo struct {
	Key      string        `json:"key"` // ip:..., key:<fingerprint>, user:..., jwt:<fingerprint>
	Failures int           `json:"failures"`
	Lockouts int           `json:"lockouts"`
	Locked   time.Duration `json:"locked_for"`
}

func (l *lockout) list(now time.Time) []FailureInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []FailureInfo
	for k, e := range l.entries {
		fi := FailureInfo{Key: k, Failures: e.failures, Lockouts: e.lockouts}
		if now.Before(e.until) {
			fi.Locked = e.until.Sub(now).Round(time.Second)
		}
		out = append(out, fi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
