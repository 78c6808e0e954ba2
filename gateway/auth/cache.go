package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCache remembers tokens whose signature and claims were checked,
// so a client reusing its token pays a hash, not a signature check, on each
// request (an ES256 check costs tens of microseconds). An entry lives until
// the token's expiry or maxCacheAge, whichever is sooner, and dies with the
// key set it was checked against: a JWKS refresh (generation change)
// empties the cache. Revocation of gateway tokens is checked on every
// request regardless. The cache is bounded; when full, an arbitrary entry
// makes room.
type verifiedCache struct {
	mu      sync.RWMutex
	entries map[[32]byte]cacheEntry
	max     int
}

type cacheEntry struct {
	id      *identity
	expires time.Time
	gen     uint64
}

const (
	maxCacheAge     = 5 * time.Minute
	defaultCacheMax = 4096
)

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{entries: map[[32]byte]cacheEntry{}, max: max}
}

func (c *verifiedCache) get(token string, now time.Time, gen uint64) (*identity, bool) {
	if c == nil {
		return nil, false
	}
	k := sha256.Sum256([]byte(token))
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || e.gen != gen || !now.Before(e.expires) {
		return nil, false
	}
	return e.id, true
}

func (c *verifiedCache) put(token string, id *identity, exp, now time.Time, gen uint64) {
	if c == nil {
		return
	}
	if limit := now.Add(maxCacheAge); exp.IsZero() || exp.After(limit) {
		exp = limit
	}
	k := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for old, e := range c.entries {
			delete(c.entries, old)
			if !now.Before(e.expires) || len(c.entries) < c.max {
				break
			}
		}
	}
	c.entries[k] = cacheEntry{id: id, expires: exp, gen: gen}
}
