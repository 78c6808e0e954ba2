package protoconv

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Defaults for a zero (or negative) Limits field.
const (
	DefaultMaxBytes = 4 << 20
	DefaultMaxDepth = 64
)

// Limits bound one conversion (zero: defaults MaxBytes 4 MiB, MaxDepth 64).
type Limits struct {
	// MaxBytes bounds the input, checked before anything is parsed.
	MaxBytes int64
	// MaxDepth bounds how deeply messages nest, the top-level message
	// counting as one. In protobuf wire data a map entry is a message and
	// counts too. JSON text may nest [ and { up to twice as deep, since a
	// repeated message or a map of messages takes two JSON levels for one
	// message level.
	MaxDepth int
}

func (l Limits) orDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// Error is every error this package returns. Its text is safe to show a
// client: it names fields, types and positions, never more than a short,
// truncated excerpt of the input.
type Error struct {
	Msg string
}

func (e *Error) Error() string { return "protobuf: " + e.Msg }

func errorf(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// maxCause bounds text taken from the protobuf library's errors: protojson
// quotes the offending token whole, and a token can be a megabyte string.
const maxCause = 160

// cause turns a library error into short, valid UTF-8 text without the
// library's own "proto: " prefix.
func cause(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "proto: ")
	s = strings.TrimPrefix(s, "proto:\u00a0") // the library sometimes uses a no-break space
	if len(s) > maxCause {
		cut := maxCause
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func oversize(what string, n int, lim Limits) *Error {
	return errorf("%s of %d bytes exceeds the limit of %d bytes", what, n, lim.MaxBytes)
}

func tooDeep(lim Limits) *Error {
	return errorf("message nested deeper than %d levels", lim.MaxDepth)
}

// MaxAnyNesting bounds how deeply google.protobuf.Any values nest inside one
// another. protojson handles an Any by converting what it holds whole, so
// each level of Any nesting costs another pass over everything inside it:
// without this bound a 4 MiB request nested to MaxDepth costs over a second
// of CPU instead of a few milliseconds.
const MaxAnyNesting = 4

func tooManyAnys() *Error {
	return errorf("google.protobuf.Any values nested more than %d deep", MaxAnyNesting)
}

// scanJSON refuses, in one linear pass before protojson (whose decoder
// recurses) sees the text, JSON nesting [ and { deeper than maxNest and
// objects holding an "@type" key (an Any) nested more than MaxAnyNesting
// deep. It understands only strings (so brackets inside them do not count)
// and keys: protojson itself rejects malformed text. A Struct value whose
// keys happen to be "@type" counts as an Any too; that is the price of not
// knowing the schema here.
func scanJSON(js []byte, maxNest int, lim Limits) *Error {
	type frame struct {
		object    bool
		expectKey bool // in an object, after { or ,
		hasType   bool
		anys      int // deepest Any nesting among the values inside
	}
	var stack []frame
	for i := 0; i < len(js); i++ {
		switch js[i] {
		case '"':
			start := i + 1
			escaped := false
			for i++; i < len(js) && js[i] != '"'; i++ {
				if js[i] == '\\' {
					escaped = true
					i++ // the escaped byte cannot end the string
				}
			}
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
				stack[n-1].expectKey = false
				if isTypeKey(js[start:min(i, len(js))], escaped) {
					stack[n-1].hasType = true
				}
			}
		case '{', '[':
			if len(stack) == maxNest {
				return tooDeep(lim)
			}
			stack = append(stack, frame{object: js[i] == '{', expectKey: js[i] == '{'})
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].expectKey = true
			}
		case '}', ']':
			n := len(stack)
			if n == 0 {
				continue
			}
			f := stack[n-1]
			stack = stack[:n-1]
			if f.hasType {
				f.anys++
				if f.anys > MaxAnyNesting {
					return tooManyAnys()
				}
			}
			if n > 1 && f.anys > stack[n-2].anys {
				stack[n-2].anys = f.anys
			}
		}
	}
	return nil
}

// isTypeKey reports whether a key's raw text (between the quotes) is
// "@type", allowing for escapes such as \u0040type, which protojson decodes.
func isTypeKey(raw []byte, escaped bool) bool {
	if !escaped {
		return string(raw) == "@type"
	}
	if len(raw) > 64 {
		return false // "@type" escaped in full is 30 bytes
	}
	var key string
	if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &key) != nil {
		return false
	}
	return key == "@type"
}
