package transform

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/raygate/raygate/gateway/route"
)

// path.rewrite builds the escaped path from the template: literals are
// taken as written (they are the operator's, in escaped form), and every
// value is escaped with url.PathEscape, so a value holding "?", "#", "%"
// or a space stays inside its segment. Two values are paths themselves and
// keep their slashes: {path} (the request path) and {param.**} (a
// template route's tail); each of their segments is escaped on its own.
//
// The result must then be a path the gateway itself would accept from a
// client unchanged (route.Normalize): no ".", ".." or empty segment
// (PathEscape leaves dots alone, so a value ".." would otherwise climb),
// and no encoded slash or backslash, control character or double-encoded
// dot. That last rule is why a value holding "/" cannot apply rather than
// being sent as %2F: backends disagree on whether %2F separates segments,
// and "..%2Fadmin" is a traversal to one that decodes it first. The
// gateway refuses such a path from a client for that reason; it must not
// make one up either.

// isMultiSegment reports whether a placeholder's value is a path.
func isMultiSegment(seg segment) bool {
	return seg.src == srcPath || seg.src == srcParam && seg.text == "**"
}

func escapePathValue(seg segment, v string) (string, string) {
	if !controlFree(v) {
		return "", whyControl
	}
	if !isMultiSegment(seg) {
		if strings.ContainsAny(v, "/\\") {
			return "", "value contains a slash or backslash (a path value is one segment)"
		}
		return url.PathEscape(v), ""
	}
	parts := strings.Split(v, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/"), ""
}

// cleanPath checks an escaped path and returns it unescaped.
func cleanPath(escaped string) (string, string) {
	if !strings.HasPrefix(escaped, "/") {
		return "", "path does not start with /"
	}
	norm, err := route.Normalize(escaped)
	if err != nil {
		return "", err.Error()
	}
	p, err := url.PathUnescape(escaped)
	if err != nil || norm != p {
		// Normalize dropped or folded something
		return "", "path would have a \".\", \"..\" or empty segment"
	}
	return p, ""
}

func (st *step) applyPath(s *state) string {
	u := s.m.URL
	if u == nil {
		return "no URL"
	}
	escaped, why := s.expand(&st.value, escapePathValue)
	if why != "" {
		return why
	}
	p, why := cleanPath(escaped)
	if why != "" {
		return why
	}
	u.Path, u.RawPath = p, ""
	if escaped != p {
		u.RawPath = escaped
	}
	return ""
}

// checkPathTemplate refuses at Compile a template whose literals are not
// an escaped path, or that could never be clean: each placeholder is tried
// with a harmless value.
func checkPathTemplate(t *template) error {
	var b strings.Builder
	for _, seg := range t.segs {
		if seg.src != srcLiteral {
			if seg.src == srcPath {
				b.WriteString("/x") // the request path starts with /
			} else {
				b.WriteString("x")
			}
			continue
		}
		for i := 0; i < len(seg.text); i++ {
			c := seg.text[i]
			if !pathByte(c) {
				return fmt.Errorf("%q is not allowed in a path as written; escape it (%%%02X)", c, c)
			}
		}
		b.WriteString(seg.text)
	}
	if _, why := cleanPath(b.String()); why != "" {
		return fmt.Errorf("%s (placeholders tried as x, {path} as /x)", why)
	}
	return nil
}

// pathByte reports whether c may appear in an escaped path (RFC 3986
// pchar, "/" and the "%" of an escape).
func pathByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("-._~!$&'()*+,;=:@/%", c) >= 0
}
