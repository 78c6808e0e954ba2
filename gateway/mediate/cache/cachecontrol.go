package cache

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Directives is a parsed Cache-Control header (RFC 9111 §5.2). Unknown
// directives are ignored, as the RFC requires.
type Directives struct {
	NoStore, NoCache, Private, Public, MustRevalidate bool
	// MaxAge and SMaxAge are -1 when absent.
	MaxAge, SMaxAge time.Duration
}

// ParseCacheControl parses every Cache-Control field of h.
func ParseCacheControl(h http.Header) Directives {
	d := Directives{MaxAge: -1, SMaxAge: -1}
	for _, line := range h.Values("Cache-Control") {
		for _, part := range splitDirectives(line) {
			name, val, _ := strings.Cut(part, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			val = strings.Trim(strings.TrimSpace(val), `"`)
			switch name {
			case "no-store":
				d.NoStore = true
			case "no-cache":
				// no-cache="field" is treated as a plain no-cache
				d.NoCache = true
			case "private":
				d.Private = true
			case "public":
				d.Public = true
			case "must-revalidate", "proxy-revalidate":
				d.MustRevalidate = true
			case "max-age":
				d.MaxAge = seconds(val)
			case "s-maxage":
				d.SMaxAge = seconds(val)
			}
		}
	}
	return d
}

// splitDirectives splits on commas outside quoted strings.
func splitDirectives(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '\\':
			if quoted {
				i++
			}
		case ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// seconds parses a delta-seconds value; an invalid one means stale (0),
// as RFC 9111 §4.2.1 asks.
func seconds(v string) time.Duration {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	const max = 1<<31 - 1 // RFC 9111 §1.2.2: cap at 2^31 seconds
	if n > max {
		n = max
	}
	return time.Duration(n) * time.Second
}

// Freshness returns the lifetime a response claims (s-maxage, else
// max-age, else Expires minus Date), or ttl when it claims none, capped by
// maxTTL when that is positive.
func Freshness(h http.Header, d Directives, ttl, maxTTL time.Duration) time.Duration {
	f := ttl
	switch {
	case d.SMaxAge >= 0:
		f = d.SMaxAge
	case d.MaxAge >= 0:
		f = d.MaxAge
	case h.Get("Expires") != "":
		exp, err := http.ParseTime(h.Get("Expires"))
		if err != nil {
			return 0 // an invalid Expires means already expired (RFC 9111 §5.3)
		}
		date, err := http.ParseTime(h.Get("Date"))
		if err != nil {
			date = time.Now()
		}
		f = max(exp.Sub(date), 0)
	}
	if maxTTL > 0 && f > maxTTL {
		f = maxTTL
	}
	return f
}

// AgeHeader parses a response's Age (0 when absent or invalid).
func AgeHeader(h http.Header) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// NotModified reports whether a request's conditionals match the entry,
// so it may be answered 304 (RFC 9110 §13.2.2: If-None-Match wins over
// If-Modified-Since; weak comparison for If-None-Match).
func NotModified(req http.Header, e *Entry) bool {
	if inm := req.Get("If-None-Match"); inm != "" {
		etag := e.Header.Get("ETag")
		if etag == "" {
			return false
		}
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || weakEqual(t, etag) {
				return true
			}
		}
		return false
	}
	if ims := req.Get("If-Modified-Since"); ims != "" {
		lm, err := http.ParseTime(e.Header.Get("Last-Modified"))
		if err != nil {
			return false
		}
		since, err := http.ParseTime(ims)
		return err == nil && !lm.After(since)
	}
	return false
}

func weakEqual(a, b string) bool {
	return strings.TrimPrefix(a, "W/") == strings.TrimPrefix(b, "W/")
}

// NotModifiedHeaders are the headers a 304 carries from the entry (RFC
// 9110 §15.4.5).
var NotModifiedHeaders = []string{"Cache-Control", "Content-Location", "Date", "ETag", "Expires", "Vary", "Last-Modified"}
