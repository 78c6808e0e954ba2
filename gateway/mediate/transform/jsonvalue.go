package transform

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects the parser accepts, as
// mediate.DefaultLimits does for validation.
const maxDepth = 64

// jvalue is a JSON value that keeps what map[string]any loses: the order of
// an object's keys and the text of a number, so that a transformed body
// differs from the client's only where a step changed it.
type jvalue struct {
	kind jkind
	str  string // a string's value, a number's literal text
	arr  []jvalue
	obj  []jmember
}

type jkind uint8

const (
	jNull jkind = iota
	jFalse
	jTrue
	jNumber
	jString
	jArray
	jObject
)

type jmember struct {
	key string
	val jvalue
}

// Parse errors read after "body " or "value ".
var (
	errNotJSON = errors.New("is not valid JSON")
	errTooDeep = errors.New("nests deeper than " + strconv.Itoa(maxDepth))
)

// dupKeyError is a body with an object holding a key twice. Parsers
// disagree on which of the two counts (the first, the last, both), so the
// gateway would edit one value while the upstream reads the other: body
// steps refuse such a body rather than guess.
type dupKeyError struct{ key string }

func (e dupKeyError) Error() string {
	return "has the key " + strconv.Quote(e.key) + " twice in one object"
}

// parseJSON reads one JSON document. encoding/json decides what is JSON
// (json.Valid, its own scanner, which does not recurse); then one walk
// builds the value, knowing the syntax is right. Numbers keep their
// literal text, a string with an escape or invalid UTF-8 is decoded by
// encoding/json itself (invalid UTF-8 becomes U+FFFD), and nesting past
// maxDepth is refused before it is descended into. json.Decoder.Token
// would do the same in one pass, at about five times the time and
// allocations (see BenchmarkParse).
func parseJSON(b []byte) (jvalue, error) {
	if !json.Valid(b) {
		return jvalue{}, errNotJSON
	}
	// one copy of the text: every plain string and number is a substring
	// of it rather than an allocation of its own
	w := walker{b: string(b)}
	return w.value(0)
}

// walker builds a jvalue from text json.Valid accepted. It still reads
// through peek, which answers 0 past the end, so that a walker bug is a
// wrong value rather than an index panic.
type walker struct {
	b string
	i int
}

func (w *walker) peek() byte {
	if w.i < len(w.b) {
		return w.b[w.i]
	}
	return 0
}

func (w *walker) space() {
	for {
		switch w.peek() {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// value reads the value at w.i; depth is the number of arrays and objects
// around it.
func (w *walker) value(depth int) (jvalue, error) {
	w.space()
	switch c := w.peek(); c {
	case '{', '[':
		if depth >= maxDepth {
			return jvalue{}, errTooDeep
		}
		w.i++
		if c == '[' {
			return w.array(depth)
		}
		return w.object(depth)
	case '"':
		s, err := w.str()
		return jvalue{kind: jString, str: s}, err
	case 't':
		w.i += len("true")
		return jvalue{kind: jTrue}, nil
	case 'f':
		w.i += len("false")
		return jvalue{kind: jFalse}, nil
	case 'n':
		w.i += len("null")
		return jvalue{kind: jNull}, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		start := w.i
		for strings.IndexByte("+-.eE0123456789", w.peek()) >= 0 && w.i < len(w.b) {
			w.i++
		}
		return jvalue{kind: jNumber, str: w.b[start:w.i]}, nil
	}
	return jvalue{}, errNotJSON
}

func (w *walker) array(depth int) (jvalue, error) {
	v := jvalue{kind: jArray, arr: []jvalue{}}
	w.space()
	if w.peek() == ']' {
		w.i++
		return v, nil
	}
	for {
		e, err := w.value(depth + 1)
		if err != nil {
			return jvalue{}, err
		}
		v.arr = append(v.arr, e)
		w.space()
		switch w.peek() {
		case ',':
			w.i++
		case ']':
			w.i++
			return v, nil
		default:
			return jvalue{}, errNotJSON
		}
	}
}

func (w *walker) object(depth int) (jvalue, error) {
	v := jvalue{kind: jObject, obj: []jmember{}}
	var seen map[string]struct{} // past a few keys, a set beats a scan
	w.space()
	if w.peek() == '}' {
		w.i++
		return v, nil
	}
	for {
		w.space()
		key, err := w.str()
		if err != nil {
			return jvalue{}, err
		}
		if err := checkDup(&v, &seen, key); err != nil {
			return jvalue{}, err
		}
		w.space()
		if w.peek() != ':' {
			return jvalue{}, errNotJSON
		}
		w.i++
		e, err := w.value(depth + 1)
		if err != nil {
			return jvalue{}, err
		}
		v.obj = append(v.obj, jmember{key, e})
		w.space()
		switch w.peek() {
		case ',':
			w.i++
		case '}':
			w.i++
			return v, nil
		default:
			return jvalue{}, errNotJSON
		}
	}
}

// str reads a string. Most strings have no escape and are valid UTF-8:
// their bytes are the value.
func (w *walker) str() (string, error) {
	if w.peek() != '"' {
		return "", errNotJSON
	}
	start := w.i
	plain := true
	for w.i++; w.i < len(w.b); w.i++ {
		switch c := w.b[w.i]; {
		case c == '\\':
			plain = false
			w.i++
		case c == '"':
			w.i++
			raw := w.b[start+1 : w.i-1]
			if plain && utf8.ValidString(raw) {
				return raw, nil
			}
			var s string
			if err := json.Unmarshal([]byte(w.b[start:w.i]), &s); err != nil {
				return "", errNotJSON
			}
			return s, nil
		}
	}
	return "", errNotJSON
}

func checkDup(v *jvalue, seen *map[string]struct{}, key string) error {
	const scan = 16
	if len(v.obj) < scan {
		if v.find(key) >= 0 {
			return dupKeyError{key}
		}
		return nil
	}
	if *seen == nil {
		*seen = make(map[string]struct{}, 2*scan)
		for _, m := range v.obj {
			(*seen)[m.key] = struct{}{}
		}
	}
	if _, dup := (*seen)[key]; dup {
		return dupKeyError{key}
	}
	(*seen)[key] = struct{}{}
	return nil
}

// find returns the position of key in an object, or -1.
func (v *jvalue) find(key string) int {
	for i := range v.obj {
		if v.obj[i].key == key {
			return i
		}
	}
	return -1
}

// clone copies v deeply, so that a value compiled once can be put into
// many bodies and then edited in one of them.
func (v *jvalue) clone() jvalue {
	c := jvalue{kind: v.kind, str: v.str}
	if v.arr != nil {
		c.arr = make([]jvalue, len(v.arr))
		for i := range v.arr {
			c.arr[i] = v.arr[i].clone()
		}
	}
	if v.obj != nil {
		c.obj = make([]jmember, len(v.obj))
		for i := range v.obj {
			c.obj[i] = jmember{v.obj[i].key, v.obj[i].val.clone()}
		}
	}
	return c
}

// appendJSON writes v compactly, keys in order, numbers as written.
func appendJSON(b []byte, v *jvalue) []byte {
	switch v.kind {
	case jNull:
		return append(b, "null"...)
	case jFalse:
		return append(b, "false"...)
	case jTrue:
		return append(b, "true"...)
	case jNumber:
		return append(b, v.str...)
	case jString:
		return appendString(b, v.str)
	case jArray:
		b = append(b, '[')
		for i := range v.arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, &v.arr[i])
		}
		return append(b, ']')
	default:
		b = append(b, '{')
		for i := range v.obj {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v.obj[i].key)
			b = append(b, ':')
			b = appendJSON(b, &v.obj[i].val)
		}
		return append(b, '}')
	}
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Unlike encoding/json it leaves
// <, > and & alone (the body is not HTML); like it, it escapes U+2028 and
// U+2029 and writes invalid UTF-8 (a header value can hold any byte) as
// U+FFFD, so the output is always valid JSON.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// isJSONNumber reports whether s is a JSON number (RFC 8259 §6), exactly,
// with no space around it.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}
