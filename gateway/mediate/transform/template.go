package transform

import (
	"fmt"
	"net/http"
	"strings"
)

// srcKind is where a template placeholder takes its value from.
type srcKind uint8

const (
	srcLiteral srcKind = iota
	srcParam
	srcQuery
	srcHeader
	srcSubject
	srcRole
	srcRoute
	srcRequestID
	srcMethod
	srcPath
)

// segment is one piece of a parsed template: literal text, or a
// placeholder and its key (the canonical header name for srcHeader).
type segment struct {
	src  srcKind
	text string
}

// template is a value template parsed at Compile, so that Apply only
// concatenates.
type template struct {
	raw  string
	segs []segment
	// sources says which kinds of value the template reads (bit per
	// srcKind), so Apply knows whether it must protect the Env's headers.
	sources uint16
}

var fixedSources = map[string]srcKind{
	"identity.subject": srcSubject,
	"identity.role":    srcRole,
	"route":            srcRoute,
	"request_id":       srcRequestID,
	"method":           srcMethod,
	"path":             srcPath,
}

// parseTemplate splits v into literals and placeholders. It reads exactly
// what config.checkValueTemplate accepts, the same way, so that a value
// the configuration let through means the same thing here.
func parseTemplate(v string) (template, error) {
	t := template{raw: v}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.segs = append(t.segs, segment{src: srcLiteral, text: lit.String()})
			lit.Reset()
		}
	}
	for v != "" {
		i := strings.IndexAny(v, "{}")
		if i < 0 {
			lit.WriteString(v)
			break
		}
		lit.WriteString(v[:i])
		if strings.HasPrefix(v[i:], "{{") || strings.HasPrefix(v[i:], "}}") {
			lit.WriteByte(v[i])
			v = v[i+2:]
			continue
		}
		if v[i] == '}' {
			return t, fmt.Errorf(`unmatched "}" (write "}}" for a literal one)`)
		}
		j := strings.IndexByte(v[i:], '}')
		if j < 0 {
			return t, fmt.Errorf(`unclosed "{" (write "{{" for a literal one)`)
		}
		name := v[i+1 : i+j]
		seg, ok := placeholder(name)
		if !ok {
			return t, fmt.Errorf("{%s} is not a known value (param.NAME, query.NAME, header.NAME, identity.subject, identity.role, route, request_id, method, path)", name)
		}
		flush()
		t.segs = append(t.segs, seg)
		t.sources |= 1 << seg.src
		v = v[i+j+1:]
	}
	flush()
	return t, nil
}

func placeholder(name string) (segment, bool) {
	if k, ok := fixedSources[name]; ok {
		return segment{src: k}, true
	}
	src, key, _ := strings.Cut(name, ".")
	if key == "" {
		return segment{}, false
	}
	switch src {
	case "param":
		return segment{src: srcParam, text: key}, true
	case "query":
		return segment{src: srcQuery, text: key}, true
	case "header":
		return segment{src: srcHeader, text: http.CanonicalHeaderKey(key)}, true
	}
	return segment{}, false
}

// constant reports whether the template has no placeholder, and its text.
func (t *template) constant() (string, bool) {
	switch len(t.segs) {
	case 0:
		return "", true
	case 1:
		if t.segs[0].src == srcLiteral {
			return t.segs[0].text, true
		}
	}
	return "", false
}

func (t *template) reads(k srcKind) bool { return t.sources&(1<<k) != 0 }

// lookup returns a placeholder's value, or a reason when the message does
// not carry it. An empty identity, route, request id, method or path, and an
// empty route parameter, count as absent (an empty parameter cannot be told
// from a missing one); a query parameter or header that is present with an
// empty value is present.
func (s *state) lookup(seg segment) (string, string) {
	e := s.env
	switch seg.src {
	case srcLiteral:
		return seg.text, ""
	case srcParam:
		if e.Params != nil {
			if v := e.Params(seg.text); v != "" {
				return v, ""
			}
		}
		return "", "route parameter " + seg.text + " is absent"
	case srcQuery:
		if vs := e.Query[seg.text]; len(vs) > 0 {
			return vs[0], ""
		}
		return "", "query parameter " + seg.text + " is absent"
	case srcHeader:
		if vs := s.envHeader[seg.text]; len(vs) > 0 {
			return vs[0], ""
		}
		return "", "header " + seg.text + " is absent"
	}
	var v, what string
	switch seg.src {
	case srcSubject:
		v, what = e.Subject, "identity subject"
	case srcRole:
		v, what = e.Role, "identity role"
	case srcRoute:
		v, what = e.Route, "route name"
	case srcRequestID:
		v, what = e.RequestID, "request id"
	case srcMethod:
		v, what = e.Method, "method"
	case srcPath:
		v, what = e.Path, "path"
	}
	if v == "" {
		return "", what + " is absent"
	}
	return v, ""
}

// expand fills the template in. esc, when not nil, rewrites each
// placeholder's value (path escaping) or refuses it with a reason. A
// non-empty reason means the step cannot apply.
func (s *state) expand(t *template, esc func(segment, string) (string, string)) (string, string) {
	if len(t.segs) == 1 && (esc == nil || t.segs[0].src == srcLiteral) {
		// the common cases, a constant or a bare placeholder, allocate nothing
		return s.lookup(t.segs[0])
	}
	var b strings.Builder
	for _, seg := range t.segs {
		v, why := s.lookup(seg)
		if why != "" {
			return "", why
		}
		if esc != nil && seg.src != srcLiteral {
			if v, why = esc(seg, v); why != "" {
				return "", why
			}
		}
		b.WriteString(v)
	}
	return b.String(), ""
}
