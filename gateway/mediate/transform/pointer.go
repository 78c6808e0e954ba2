package transform

import (
	"fmt"
	"strings"
)

// pointer is an RFC 6901 JSON pointer, split into unescaped reference
// tokens at Compile.
type pointer struct {
	raw    string
	tokens []string
}

// unescapeToken turns "~1" into "/" and then "~0" into "~" in one
// left-to-right pass, which is the order RFC 6901 §4 requires ("~01" is
// "~1", not "/").
var unescapeToken = strings.NewReplacer("~1", "/", "~0", "~")

func parsePointer(p string) (pointer, error) {
	// "/" (the key "") is a pointer, but config refuses it as a likely
	// mistake for the whole body, which no step may replace; so does this
	if !strings.HasPrefix(p, "/") || p == "/" {
		return pointer{}, fmt.Errorf("%q is not a JSON pointer to a field, such as \"/customer/id\"", p)
	}
	if err := checkTildes(p); err != nil {
		return pointer{}, fmt.Errorf("%q: %v", p, err)
	}
	parts := strings.Split(p[1:], "/")
	for i, t := range parts {
		parts[i] = unescapeToken.Replace(t)
	}
	return pointer{raw: p, tokens: parts}, nil
}

// checkTildes refuses a "~" that is not "~0" or "~1".
func checkTildes(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] == '~' && (i+1 >= len(s) || s[i+1] != '0' && s[i+1] != '1') {
			return fmt.Errorf(`"~" must be written "~0" ("~1" is "/")`)
		}
	}
	return nil
}

// within reports whether q points inside p (p is a proper prefix of q,
// token by token).
func (p pointer) within(q pointer) bool {
	if len(q.tokens) <= len(p.tokens) {
		return false
	}
	for i, t := range p.tokens {
		if q.tokens[i] != t {
			return false
		}
	}
	return true
}

func (p pointer) equal(q pointer) bool {
	if len(p.tokens) != len(q.tokens) {
		return false
	}
	for i, t := range p.tokens {
		if q.tokens[i] != t {
			return false
		}
	}
	return true
}

// arrayIndex reads a token as an array index: "0" or a decimal without a
// leading zero (RFC 6901 §4). ok is false for anything else, "-" included.
func arrayIndex(tok string) (int, bool) {
	if tok == "" || len(tok) > 9 || len(tok) > 1 && tok[0] == '0' {
		return 0, false // 9 digits is past any array a bounded body can hold
	}
	n := 0
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
