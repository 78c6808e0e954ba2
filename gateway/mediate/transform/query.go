package transform

import (
	"net/url"
	"strings"
)

// Query steps edit URL.RawQuery as a list of raw "key=value" pieces rather
// than through url.Values: Encode would sort the parameters and re-escape
// every one of them, and a signed URL or a picky upstream notices both.
// Pieces a step does not name are kept byte for byte, in order.

// queryKey returns a piece's key, unescaped; a key that does not unescape
// is compared as written.
func queryKey(piece string) string {
	k, _, _ := strings.Cut(piece, "=")
	if strings.ContainsAny(k, "%+") {
		if u, err := url.QueryUnescape(k); err == nil {
			return u
		}
	}
	return k
}

func splitQuery(raw string) []string {
	if raw == "" {
		return nil
	}
	return strings.Split(raw, "&")
}

func (st *step) applyQuery(s *state) string {
	u := s.m.URL
	if u == nil {
		return "no URL"
	}
	var val string
	if st.op == opQueryAdd || st.op == opQuerySet {
		v, why := s.expand(&st.value, nil)
		if why != "" {
			return why
		}
		val = url.QueryEscape(v)
	}
	if st.op == opQueryAdd {
		u.RawQuery = appendPiece(u.RawQuery, st.escName+"="+val)
		return ""
	}
	pieces := splitQuery(u.RawQuery)
	out := pieces[:0] // in place: pieces are only dropped or rewritten
	found := false
	for _, p := range pieces {
		k := queryKey(p)
		switch {
		case k == st.name:
			switch st.op {
			case opQuerySet:
				if found {
					continue // set leaves one value
				}
				p = keyOf(p) + "=" + val
			case opQueryRemove:
				found = true
				continue
			case opQueryRename:
				if _, v, ok := strings.Cut(p, "="); ok {
					p = st.escTo + "=" + v
				} else {
					p = st.escTo
				}
			}
			found = true
		case st.op == opQueryRename && k == st.to:
			continue // the renamed parameter replaces the target's values
		}
		out = append(out, p)
	}
	switch {
	case found:
		u.RawQuery = strings.Join(out, "&")
	case st.op == opQuerySet:
		u.RawQuery = appendPiece(u.RawQuery, st.escName+"="+val)
	default:
		return "query parameter not present"
	}
	return ""
}

// keyOf is a piece's key as written (set keeps the client's spelling).
func keyOf(piece string) string {
	k, _, _ := strings.Cut(piece, "=")
	return k
}

func appendPiece(raw, piece string) string {
	if raw == "" {
		return piece
	}
	return raw + "&" + piece
}
