// Package cache is the response cache's storage: entries held in one LRU
// bounded by entries and by bytes, per-route counters, and the request
// collapsing that sends concurrent misses for one key to the upstream once.
// HTTP caching semantics (what may be stored, for how long, what a hit
// answers) live in the mediate stage and in cachecontrol.go; this room
// holds bytes and clocks, and touches nothing else.
package cache

import (
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Limits bound the store.
type Limits struct {
	MaxBytes      int64
	MaxEntries    int
	MaxEntryBytes int64
}

// Entry is a stored response. It is immutable once stored: a refresh
// stores a new entry.
type Entry struct {
	Route  string
	Status int
	Header http.Header
	Body   []byte
	// Stored is when the response was received; AgeAtStore its Age then.
	Stored     time.Time
	AgeAtStore time.Duration
	// Fresh is the freshness lifetime; Stale how long past it the entry
	// may still be served while one request refreshes it.
	Fresh time.Duration
	Stale time.Duration
	// Vary lists the request headers that select this variant; a non-nil
	// Vary on an entry with Status 0 makes it a marker that only says so.
	Vary []string
	size int64
}

// Age is the entry's current age (RFC 9111 §4.2.3, simplified: the
// gateway's clock is the only one).
func (e *Entry) Age(now time.Time) time.Duration {
	return e.AgeAtStore + now.Sub(e.Stored)
}

// IsFresh reports whether the entry may be served without asking.
func (e *Entry) IsFresh(now time.Time) bool { return e.Age(now) < e.Fresh }

// IsUsableStale reports whether a stale entry is within its
// stale-while-revalidate window.
func (e *Entry) IsUsableStale(now time.Time) bool { return e.Age(now) < e.Fresh+e.Stale }

// IsMarker reports whether the entry only records a Vary.
func (e *Entry) IsMarker() bool { return e.Status == 0 }

// Size is what the entry counts against the byte bound.
func (e *Entry) Size() int64 { return e.size }

func sizeOf(key string, e *Entry) int64 {
	n := int64(len(key)+len(e.Body)) + 128
	for k, vs := range e.Header {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	for _, v := range e.Vary {
		n += int64(len(v))
	}
	return n
}

// RouteStats are one route's counters.
type RouteStats struct {
	Hits          uint64 `json:"hits"`
	StaleHits     uint64 `json:"stale_hits"`
	Misses        uint64 `json:"misses"`
	Stores        uint64 `json:"stores"`
	Evictions     uint64 `json:"evictions"`
	Revalidations uint64 `json:"revalidations"`
	NotModified   uint64 `json:"not_modified"`
	Bypasses      uint64 `json:"bypasses"`
	Collapsed     uint64 `json:"collapsed"`
	Entries       int    `json:"entries"`
	Bytes         int64  `json:"bytes"`
}

type routeCounters struct {
	hits, staleHits, misses, stores, evictions, revalidations, notModified, bypasses, collapsed atomic.Uint64
	entries                                                                                     atomic.Int64
	bytes                                                                                       atomic.Int64
}

// Store is the cache. All methods are safe for concurrent use.
type Store struct {
	lim Limits

	mu    sync.Mutex
	lru   *simplelru.LRU[string, *Entry]
	bytes int64
	// removing is set (under mu) while entries leave on purpose (replaced,
	// flushed), so that only the bounds' evictions count as evictions
	removing bool

	routesMu sync.RWMutex
	routes   map[string]*routeCounters

	flightMu sync.Mutex
	flight   map[string]chan struct{}
}

// New returns an empty store.
func New(lim Limits) *Store {
	s := &Store{lim: lim, routes: map[string]*routeCounters{}, flight: map[string]chan struct{}{}}
	max := lim.MaxEntries
	if max <= 0 {
		max = 1
	}
	s.lru, _ = simplelru.NewLRU[string, *Entry](max, s.evicted)
	return s
}

// Limits returns the store's bounds.
func (s *Store) Limits() Limits { return s.lim }

// evicted runs under s.mu, from the LRU, for evictions and removals alike.
func (s *Store) evicted(_ string, e *Entry) {
	s.bytes -= e.size
	c := s.counters(e.Route)
	c.entries.Add(-1)
	c.bytes.Add(-e.size)
	if !s.removing {
		c.evictions.Add(1)
	}
}

func (s *Store) counters(route string) *routeCounters {
	s.routesMu.RLock()
	c := s.routes[route]
	s.routesMu.RUnlock()
	if c != nil {
		return c
	}
	s.routesMu.Lock()
	defer s.routesMu.Unlock()
	if c = s.routes[route]; c == nil {
		c = &routeCounters{}
		s.routes[route] = c
	}
	return c
}

// Get returns the entry under key, marking it recently used.
func (s *Store) Get(key string) (*Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Get(key)
}

// Put stores e under key, evicting least recently used entries until both
// bounds hold. An entry larger than MaxEntryBytes is refused (false).
func (s *Store) Put(key string, e *Entry) bool {
	e.size = sizeOf(key, e)
	if int64(len(e.Body)) > s.lim.MaxEntryBytes || e.size > s.lim.MaxBytes {
		return false
	}
	c := s.counters(e.Route)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removing = true
	s.lru.Remove(key) // replacing: the old entry's bytes leave first
	s.removing = false
	for s.bytes+e.size > s.lim.MaxBytes {
		if _, _, ok := s.lru.RemoveOldest(); !ok {
			break
		}
	}
	s.lru.Add(key, e) // may push out the oldest entry (counted by evicted)
	s.bytes += e.size
	c.entries.Add(1)
	c.bytes.Add(e.size)
	if !e.IsMarker() {
		c.stores.Add(1)
	}
	return true
}

// Remove drops the entry under key, if any.
func (s *Store) Remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removing = true
	s.lru.Remove(key)
	s.removing = false
}

// Flush drops every entry of route, or every entry when route is "", and
// returns how many were dropped.
func (s *Store) Flush(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removing = true
	defer func() { s.removing = false }()
	n := 0
	for _, k := range s.lru.Keys() {
		if e, ok := s.lru.Peek(k); ok && (route == "" || e.Route == route) {
			s.lru.Remove(k)
			if !e.IsMarker() {
				n++
			}
		}
	}
	return n
}

// Lock makes the caller the one request that fetches key, or tells it to
// wait: leader is true when the caller must fetch and then call the
// returned release (once, whatever happens); otherwise wait is closed when
// the leader releases.
func (s *Store) Lock(key string) (leader bool, wait <-chan struct{}, release func()) {
	s.flightMu.Lock()
	defer s.flightMu.Unlock()
	if ch, ok := s.flight[key]; ok {
		return false, ch, nil
	}
	ch := make(chan struct{})
	s.flight[key] = ch
	var once sync.Once
	return true, ch, func() {
		once.Do(func() {
			s.flightMu.Lock()
			delete(s.flight, key)
			s.flightMu.Unlock()
			close(ch)
		})
	}
}

// InFlight reports how many keys have a leader fetching them.
func (s *Store) InFlight() int {
	s.flightMu.Lock()
	defer s.flightMu.Unlock()
	return len(s.flight)
}

// Count records an event for route: "hit", "stale", "miss",
// "revalidated", "not-modified", "bypass" or "collapsed".
func (s *Store) Count(route, event string) {
	c := s.counters(route)
	switch event {
	case "hit":
		c.hits.Add(1)
	case "stale":
		c.staleHits.Add(1)
	case "miss":
		c.misses.Add(1)
	case "revalidated":
		c.revalidations.Add(1)
	case "not-modified":
		c.notModified.Add(1)
	case "bypass":
		c.bypasses.Add(1)
	case "collapsed":
		c.collapsed.Add(1)
	}
}

// Stats is the store's state.
type Stats struct {
	Entries    int                   `json:"entries"`
	Bytes      int64                 `json:"bytes"`
	MaxEntries int                   `json:"max_entries"`
	MaxBytes   int64                 `json:"max_bytes"`
	InFlight   int                   `json:"in_flight"`
	Routes     map[string]RouteStats `json:"routes"`
}

// RouteNames returns the routes with counters, sorted.
func (st Stats) RouteNames() []string {
	names := make([]string, 0, len(st.Routes))
	for n := range st.Routes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// HitRatio is requests answered from the cache (fresh, stale, or after
// waiting for another request's fetch) over lookups, 0 when none.
func (r RouteStats) HitRatio() float64 {
	h := r.Hits + r.StaleHits + r.Collapsed
	if h+r.Misses == 0 {
		return 0
	}
	return float64(h) / float64(h+r.Misses)
}

// Stats returns the counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	st := Stats{Entries: s.lru.Len(), Bytes: s.bytes, MaxEntries: s.lim.MaxEntries, MaxBytes: s.lim.MaxBytes, Routes: map[string]RouteStats{}}
	s.mu.Unlock()
	st.InFlight = s.InFlight()
	s.routesMu.RLock()
	defer s.routesMu.RUnlock()
	for name, c := range s.routes {
		st.Routes[name] = RouteStats{
			Hits: c.hits.Load(), StaleHits: c.staleHits.Load(), Misses: c.misses.Load(), Stores: c.stores.Load(),
			Evictions: c.evictions.Load(), Revalidations: c.revalidations.Load(), NotModified: c.notModified.Load(),
			Bypasses: c.bypasses.Load(), Collapsed: c.collapsed.Load(),
			Entries: int(c.entries.Load()), Bytes: c.bytes.Load(),
		}
	}
	return st
}
