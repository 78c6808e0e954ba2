// Package mediate is the stage that works on the message itself, per
// route, through named policies (config.MediationPolicy): JSON Schema
// validation of bodies, query and path parameters (this file, with
// github.com/santhosh-tekuri/jsonschema/v6: compiled once, from documents
// the configuration carries, nothing fetched); content conversion
// (conversion.go over the convert and protoconv packages); transforms (the
// transform package); the response cache (cachepolicy.go, request.go and
// response.go over the cache package); and routes' own error bodies. It
// touches the exchange it is given and its own state; policies are
// immutable once compiled, and the cache and counters are safe for
// concurrent use.
package mediate

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Limits bound one validation.
type Limits struct {
	// MaxDepth bounds the nesting of arrays and objects in a document.
	MaxDepth int
}

// DefaultLimits are used where a field is zero.
var DefaultLimits = Limits{MaxDepth: 64}

// Compiler compiles schemas from documents added to it.
type Compiler struct {
	c      *jsonschema.Compiler
	limits Limits
}

// closedLoader refuses every URL: a schema may only reference documents the
// configuration added.
type closedLoader struct{}

func (closedLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s is not in the configuration (schemas are never fetched)", url)
}

// NewCompiler returns a compiler as the gateway configures it: draft
// 2020-12 unless a schema says otherwise, format as annotation (the
// specification's default), no loading.
func NewCompiler(l Limits) *Compiler {
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(closedLoader{})
	return &Compiler{c: c, limits: l}
}

// Add registers a schema document under url, for Compile and for $ref.
func (c *Compiler) Add(url string, doc []byte) error {
	v, err := c.decode(doc)
	if err != nil {
		return fmt.Errorf("schema %s: %v", url, err)
	}
	return c.c.AddResource(url, v)
}

// Compile compiles the schema at url (added before).
func (c *Compiler) Compile(url string) (*Schema, error) {
	s, err := c.c.Compile(url)
	if err != nil {
		return nil, err
	}
	return &Schema{s: s, limits: c.limits}, nil
}

func (c *Compiler) decode(doc []byte) (any, error) {
	if err := c.limits.check(doc); err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(doc))
}

// Schema is a compiled schema.
type Schema struct {
	s      *jsonschema.Schema
	limits Limits
}

// Violation is one reason a document fails: where (a JSON pointer into the
// document) and why.
type Violation struct {
	Pointer string `json:"pointer"`
	Message string `json:"message"`
}

// ErrNotJSON wraps a document that does not parse.
var ErrNotJSON = errors.New("not JSON")

// Validate checks one JSON document. It returns the violations (none when
// the document is valid), or an error when the document is not JSON or is
// nested deeper than the limit.
func (s *Schema) Validate(doc []byte) ([]Violation, error) {
	if err := s.limits.check(doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	return s.ValidateValue(v), nil
}

// ValidateValue checks a decoded document (numbers as json.Number).
func (s *Schema) ValidateValue(v any) []Violation {
	err := s.s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Violation{{Pointer: "", Message: err.Error()}}
	}
	var out []Violation
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, Violation{Pointer: pointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(english)})
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	if len(out) == 0 {
		out = append(out, Violation{Message: ve.Error()})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Pointer < out[j].Pointer })
	return out
}

var english = message.NewPrinter(language.English)

// pointer renders a location as an RFC 6901 JSON pointer.
func pointer(loc []string) string {
	var b strings.Builder
	for _, t := range loc {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}

// scan measures doc before it is decoded, so a hostile document cannot
// make the decoder recurse without bound or the validator do big-number
// arithmetic on a literal like 1e999999 (tens of milliseconds each, against
// a numeric keyword): it returns the deepest nesting of arrays and objects
// and whether a number literal is longer than maxNumberLen or has an
// exponent of more than three digits. Strings are skipped.
func scan(doc []byte) (deepest int, hugeNumber bool) {
	d := 0
	in, esc := false, false
	numLen, expDigits, inExp := 0, 0, false
	for _, c := range doc {
		switch {
		case esc:
			esc = false
			continue
		case in && c == '\\':
			esc = true
			continue
		case c == '"':
			in = !in
			continue
		case in:
			continue
		}
		switch {
		case c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E':
			numLen++
			if c == 'e' || c == 'E' {
				inExp, expDigits = true, 0
			} else if inExp && c >= '0' && c <= '9' {
				expDigits++
			}
			if numLen > maxNumberLen || expDigits > 3 {
				hugeNumber = true
			}
			continue
		case c == '[' || c == '{':
			d++
			deepest = max(deepest, d)
		case c == ']' || c == '}':
			d--
		}
		numLen, expDigits, inExp = 0, 0, false
	}
	return deepest, hugeNumber
}

// maxNumberLen bounds a number literal (float64 needs at most 24 characters).
const maxNumberLen = 100

// check applies the limits before decoding.
func (l Limits) check(doc []byte) error {
	d, huge := scan(doc)
	if d > l.MaxDepth {
		return fmt.Errorf("nested %d deep, more than %d", d, l.MaxDepth)
	}
	if huge {
		return fmt.Errorf("a number literal longer than %d characters or with an exponent past 999", maxNumberLen)
	}
	return nil
}
