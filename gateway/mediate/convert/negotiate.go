package convert

import (
	"mime"
	"strings"
)

// Negotiate picks the response format from an Accept header value among
// the offered formats (in server preference order), per RFC 9110 §12.5.1:
//
//   - A format's quality is the q of the most specific media range that
//     matches one of its media types (type/subtype over type/* over */*);
//     when two ranges are equally specific, the one naming the type
//     ContentType would send wins, else the higher q. So
//     "application/*;q=0, application/json" accepts JSON and refuses XML.
//   - q=0 excludes a format. Among the rest the highest q wins, then the
//     more specific match (a type the client named over one it reached by
//     a wildcard), then the server's order.
//   - Media range parameters other than q are ignored: none of the formats
//     has a parameter that would change what is sent. "*" alone, as some
//     old clients send, counts as */*.
//
// An empty Accept (or one where no range parses, which the RFC allows a
// server to treat as absent) returns the first offered format. ok is false
// when nothing offered is acceptable, or nothing is offered.
func Negotiate(accept string, offered ...Format) (f Format, ok bool) {
	if len(offered) == 0 {
		return Binary, false
	}
	ranges := parseAccept(accept)
	if len(ranges) == 0 {
		return offered[0], true
	}
	bestQ, bestSpec := 0, -1
	for _, o := range offered {
		q, spec := quality(ranges, o)
		if q > bestQ || q == bestQ && q > 0 && spec > bestSpec {
			f, bestQ, bestSpec = o, q, spec
		}
	}
	if bestQ == 0 {
		return Binary, false
	}
	return f, true
}

// mediaRange is one Accept entry; q is in thousandths (0..1000), as the
// grammar allows three decimals, so no floating point is compared.
type mediaRange struct {
	typ, sub string
	q        int
}

// specificity: */* is 0, type/* is 1, type/subtype is 2.
func (r mediaRange) specificity() int {
	switch {
	case r.typ == "*":
		return 0
	case r.sub == "*":
		return 1
	}
	return 2
}

func (r mediaRange) matches(mediaType string) bool {
	typ, sub, _ := strings.Cut(mediaType, "/")
	return r.typ == "*" || r.typ == typ && (r.sub == "*" || r.sub == sub)
}

// quality returns f's q against ranges and the specificity of the range
// that decided it (-1 when none matches, which is q=0).
func quality(ranges []mediaRange, f Format) (q, spec int) {
	types := mediaTypes(f)
	q, spec = 0, -1
	canonical := false
	for _, r := range ranges {
		for i, t := range types {
			if !r.matches(t) {
				continue
			}
			s := r.specificity()
			switch {
			case s > spec:
				q, spec, canonical = r.q, s, i == 0
			case s == spec && !canonical && (i == 0 || r.q > q):
				q, canonical = r.q, i == 0
			}
		}
	}
	return q, spec
}

// parseAccept splits an Accept value into media ranges; entries that do
// not parse are skipped.
func parseAccept(accept string) []mediaRange {
	var out []mediaRange
	for _, e := range splitList(accept) {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if e == "*" || strings.HasPrefix(e, "*;") || strings.HasPrefix(e, "* ;") {
			e = "*/*" + e[1:]
		}
		mt, params, err := mime.ParseMediaType(e)
		if err != nil {
			continue
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "*" && sub != "*" {
			continue
		}
		q := 1000
		if v, ok := params["q"]; ok {
			if q, ok = parseQ(v); !ok {
				continue
			}
		}
		out = append(out, mediaRange{typ: typ, sub: sub, q: q})
	}
	return out
}

// splitList splits at commas outside quoted strings (a parameter value
// may be quoted and contain a comma).
func splitList(s string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseQ parses a qvalue (RFC 9110 §12.4.2): "0" or "1", optionally with
// up to three decimals ("1.000" at most). A leading "." (".5"), which some
// clients send, is read as "0.5".
func parseQ(s string) (int, bool) {
	if strings.HasPrefix(s, ".") {
		s = "0" + s
	}
	if s == "" || s[0] != '0' && s[0] != '1' {
		return 0, false
	}
	q := int(s[0]-'0') * 1000
	rest := s[1:]
	if rest == "" {
		return q, true
	}
	if rest[0] != '.' || len(rest) > 4 {
		return 0, false
	}
	scale := 100
	for i := 1; i < len(rest); i++ {
		c := rest[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}
