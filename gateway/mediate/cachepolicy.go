package mediate

import (
	"net/http"
	"net/textproto"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/mediate/cache"
)

// cachePolicy is a compiled RouteCache.
type cachePolicy struct {
	ttl, maxTTL, swr, lockTimeout time.Duration
	methods                       []string
	statuses                      []int
	key                           []keyPart
	perUser                       bool
}

type keyPart struct {
	kind   string // method, path, query, header, identity
	header string // canonical, for header parts
}

func newCachePolicy(rc *config.RouteCache) *cachePolicy {
	cp := &cachePolicy{
		ttl: rc.TTL.D(), maxTTL: rc.MaxTTL.D(), swr: rc.StaleWhileRevalidate.D(), lockTimeout: rc.LockTimeout.D(),
		methods: rc.Methods, statuses: rc.Statuses,
	}
	for _, k := range rc.Key {
		if h, ok := strings.CutPrefix(k, "header:"); ok {
			cp.key = append(cp.key, keyPart{kind: "header", header: textproto.CanonicalMIMEHeaderKey(h)})
			continue
		}
		cp.key = append(cp.key, keyPart{kind: k})
		if k == "identity" {
			cp.perUser = true
		}
	}
	return cp
}

// takes reports whether the policy caches requests of this method.
func (cp *cachePolicy) takes(method string) bool { return slices.Contains(cp.methods, method) }

// primaryKey is the entry's key before Vary: the route, then each
// configured part; variant is the format an "accept" conversion chose.
// HEAD shares GET's entries. Parts are separated by a byte no header,
// path or query can hold.
func (cp *cachePolicy) primaryKey(ex *gateway.Exchange, variant string) string {
	var b strings.Builder
	b.WriteString(ex.Route)
	for _, k := range cp.key {
		b.WriteByte(0)
		switch k.kind {
		case "method":
			m := ex.Request.Method
			if m == http.MethodHead {
				m = http.MethodGet
			}
			b.WriteString(m)
		case "path":
			b.WriteString(ex.Path)
		case "query":
			b.WriteString(sortedQuery(ex.Request.URL.RawQuery))
		case "header":
			b.WriteString(strings.Join(ex.Request.Header.Values(k.header), ","))
		case "identity":
			if id := ex.Identity; id != nil {
				b.WriteString(id.Subject)
			}
		}
	}
	if variant != "" {
		b.WriteString("\x00as=")
		b.WriteString(variant)
	}
	return b.String()
}

// sortedQuery orders the query's pairs so that ?a=1&b=2 and ?b=2&a=1
// share an entry; the pairs themselves stay as the client encoded them.
func sortedQuery(raw string) string {
	if raw == "" || !strings.Contains(raw, "&") {
		return raw
	}
	pairs := strings.Split(raw, "&")
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// variantKey extends a primary key with the request's values of the
// headers a response varied on.
func variantKey(primary string, vary []string, h http.Header) string {
	var b strings.Builder
	b.WriteString(primary)
	b.WriteString("\x00vary")
	for _, name := range vary {
		b.WriteByte(0)
		b.WriteString(strings.Join(h.Values(name), ","))
	}
	return b.String()
}

// varyNames parses a response's Vary; star reports "Vary: *" (never
// stored).
func varyNames(h http.Header) (names []string, star bool) {
	for _, line := range h.Values("Vary") {
		for _, n := range strings.Split(line, ",") {
			n = strings.TrimSpace(n)
			switch n {
			case "":
			case "*":
				return nil, true
			default:
				names = append(names, textproto.CanonicalMIMEHeaderKey(n))
			}
		}
	}
	sort.Strings(names)
	return slices.Compact(names), false
}

// storable decides whether a response may be stored, and for how long it
// is fresh (RFC 9111 §3, for a shared cache).
func (cp *cachePolicy) storable(resp *http.Response, authenticated bool) (fresh time.Duration, why string) {
	if !slices.Contains(cp.statuses, resp.StatusCode) {
		return 0, "status"
	}
	d := cache.ParseCacheControl(resp.Header)
	switch {
	case d.NoStore:
		return 0, "no-store"
	case d.NoCache:
		// storing to revalidate every time would save only the body; pass
		return 0, "no-cache"
	case d.Private && !cp.perUser:
		return 0, "private"
	case resp.Header.Get("Set-Cookie") != "":
		// one client's cookie must never reach another
		return 0, "set-cookie"
	case authenticated && !cp.perUser && !d.Public && d.SMaxAge < 0 && !d.MustRevalidate:
		// RFC 9111 §3.5: an answer to an authenticated request is
		// shared only when the response says so
		return 0, "authenticated"
	}
	if _, star := varyNames(resp.Header); star {
		return 0, "vary-star"
	}
	fresh = cache.Freshness(resp.Header, d, cp.ttl, cp.maxTTL)
	if fresh <= 0 {
		return 0, "stale"
	}
	return fresh, ""
}

// staleWindow is how long past freshness an entry may be served while one
// request refreshes it.
func (cp *cachePolicy) staleWindow(h http.Header) time.Duration {
	if cache.ParseCacheControl(h).MustRevalidate {
		return 0
	}
	return cp.swr
}
