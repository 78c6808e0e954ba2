package transform

import (
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// framingHeaders are read by the transport, not the upstream or the
// client: a transform that set them would desynchronise the framing (and
// Host in http.Header is ignored on the way out anyway).
var framingHeaders = []string{"Host", "Content-Length", "Transfer-Encoding"}

func isFraming(name string) bool {
	for _, f := range framingHeaders {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}

// validHeaderName: a header name is an RFC 9110 token.
func validHeaderName(s string) bool { return httpguts.ValidHeaderFieldName(s) }

// controlFree reports whether s holds no control character but HTAB (the
// field-value grammar of RFC 9110 §5.5). CR and LF would split a header in
// two; NUL is cut at by some servers. Values come from the client through
// {header.X} and {query.x}, so this is what makes header injection
// impossible; Go's transport would refuse such a value too, but only as an
// upstream error after the fact.
func controlFree(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

const whyControl = "value contains a control character (CR, LF, NUL...)"

func (st *step) applyHeader(s *state) string {
	h := s.m.Header
	switch st.op {
	case opHeaderAdd, opHeaderSet:
		v, why := s.expand(&st.value, nil)
		if why != "" {
			return why
		}
		if !controlFree(v) {
			return whyControl
		}
		if h == nil {
			h = make(http.Header)
			s.m.Header = h
		}
		if st.op == opHeaderAdd {
			h[st.name] = append(h[st.name], v)
		} else {
			h[st.name] = []string{v}
		}
	case opHeaderRemove:
		if len(h[st.name]) == 0 {
			return "header not present"
		}
		delete(h, st.name)
	case opHeaderRename:
		vs := h[st.name]
		if len(vs) == 0 {
			return "header not present"
		}
		delete(h, st.name)
		h[st.to] = vs
	}
	return ""
}
