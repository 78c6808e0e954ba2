package route

import (
	"errors"
	"strings"
)

// Normalisation errors. Each is a client error (400): the gateway refuses a
// path it cannot read the same way every backend would.
var (
	ErrEncodedSlash     = errors.New("path contains an encoded slash (%2F)")
	ErrBackslash        = errors.New("path contains a backslash")
	ErrControlCharacter = errors.New("path contains a control character or NUL")
	ErrBadEscape        = errors.New("path contains a malformed percent-escape")
	ErrNotAbsolute      = errors.New("path does not start with /")
	ErrAboveRoot        = errors.New("path climbs above the root with ..")
	ErrTooLong          = errors.New("path too long")
	ErrDoubleEncoded    = errors.New("path contains a double-encoded dot, slash or backslash")
)

// MaxPathBytes bounds the escaped path the normaliser reads.
const MaxPathBytes = 8 << 10

// Normalize turns a request's escaped path (URL.EscapedPath) into the path
// routes are matched against, once, before any route sees it:
//
//   - segments are percent-decoded, so %2e%2e is "..", %41 is "A";
//   - "." segments are dropped and ".." removes the segment before it, so
//     /public/../admin and /public/%2e%2e/admin are both /admin;
//   - empty segments (duplicate slashes) are dropped;
//   - an encoded slash (%2F), a backslash (raw or %5C), NUL or another
//     control character is refused: backends disagree on what they mean,
//     and that disagreement is how route rules get bypassed;
//   - a double-encoded dot, slash or backslash (%252e) is refused, for
//     backends that decode twice;
//   - ".." above the root is refused rather than clamped;
//   - a trailing slash is kept (/a/ and /a are different paths).
//
// The result always starts with "/".
func Normalize(escaped string) (string, error) {
	if len(escaped) > MaxPathBytes {
		return "", ErrTooLong
	}
	if escaped == "" || escaped == "*" {
		return "/", nil
	}
	if escaped[0] != '/' {
		return "", ErrNotAbsolute
	}
	if isClean(escaped) {
		return escaped, nil // the common case: nothing to do, nothing allocated
	}
	segs := make([]string, 0, 8)
	trailing := false
	rest := escaped[1:]
	for {
		var seg string
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			seg, rest = rest, ""
		} else {
			seg, rest = rest[:i], rest[i+1:]
		}
		last := i < 0
		dec, err := decodeSegment(seg)
		if err != nil {
			return "", err
		}
		switch dec {
		case "", ".":
		case "..":
			if len(segs) == 0 {
				return "", ErrAboveRoot
			}
			segs = segs[:len(segs)-1]
		default:
			segs = append(segs, dec)
		}
		if last {
			// "/a/", "/a/." and "/a/b/.." all name the directory /a/
			trailing = dec == "" || dec == "." || dec == ".."
			break
		}
	}
	if len(segs) == 0 {
		return "/", nil
	}
	n := len(segs)
	for _, s := range segs {
		n += len(s)
	}
	if trailing {
		n++
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(s)
	}
	if trailing {
		b.WriteByte('/')
	}
	return b.String(), nil
}

// isClean reports whether a path is already in normal form: no escapes,
// no empty, "." or ".." segments, no backslash or control character.
func isClean(p string) bool {
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '%' || c == '\\' || c < 0x20 || c == 0x7f:
			return false
		case c == '/' && i+1 < len(p):
			switch p[i+1] {
			case '/':
				return false
			case '.':
				rest := p[i+2:]
				if rest == "" || rest[0] == '/' || rest == "." || (rest[0] == '.' && (len(rest) == 1 || rest[1] == '/')) {
					return false
				}
			}
		}
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeSegment percent-decodes one segment and refuses the characters
// Normalize documents.
func decodeSegment(s string) (string, error) {
	needs := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			needs = true
		case c == '\\':
			return "", ErrBackslash
		case c < 0x20 || c == 0x7f:
			return "", ErrControlCharacter
		}
	}
	if !needs {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) {
			return "", ErrBadEscape
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", ErrBadEscape
		}
		d := hi<<4 | lo
		switch {
		case d == '/':
			return "", ErrEncodedSlash
		case d == '\\':
			return "", ErrBackslash
		case d < 0x20 || d == 0x7f:
			return "", ErrControlCharacter
		}
		b = append(b, d)
		i += 2
	}
	// A backend that decodes twice would read %252e%252e as "..": refuse
	// what would be a dot segment, a slash or a backslash on a second pass.
	if bytesContainsFold(b, "%2e") || bytesContainsFold(b, "%2f") || bytesContainsFold(b, "%5c") {
		return "", ErrDoubleEncoded
	}
	return string(b), nil
}

func bytesContainsFold(b []byte, pat string) bool {
	for i := 0; i+len(pat) <= len(b); i++ {
		if b[i] == pat[0] && (b[i+1]|0x20) == pat[1] && (b[i+2]|0x20) == pat[2] {
			return true
		}
	}
	return false
}
