package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

// jkind is the kind of a decoded JSON value.
type jkind uint8

const (
	jString jkind = iota
	jNumber
	jBool
	jNull
	jObject
	jArray
)

// jval is a decoded JSON value that keeps what map[string]any loses: the
// order of an object's keys, and number literals exactly as written.
type jval struct {
	kind jkind
	s    string   // string value, number literal, "true" or "false"
	keys []string // object keys, in document order
	vals []*jval  // object values (parallel to keys) or array items
}

// scalar reports whether v is a string, number, boolean or null.
func (v *jval) scalar() bool { return v.kind <= jNull }

// maxNumberLen bounds a number literal: float64 needs at most 24
// characters, and a longer literal is more likely an attack on whoever
// parses the output than data.
const maxNumberLen = 100

// dupIndexAt is the object size from which duplicate keys are found with a
// map rather than by scanning the keys so far (quadratic for big objects).
const dupIndexAt = 16

// jsonDecoder reads one JSON document into a jval tree with the limits
// applied as it goes, so a hostile document is refused before it costs
// more than its own size.
type jsonDecoder struct {
	d     *json.Decoder
	lim   Limits
	nodes int
}

// decodeJSON reads exactly one JSON value (with nothing but whitespace
// after it), which must be valid UTF-8, within lim.
func decodeJSON(data []byte, lim Limits) (*jval, error) {
	if err := lim.checkSize(JSON, data); err != nil {
		return nil, err
	}
	if !utf8.Valid(data) {
		// encoding/json would quietly turn bad bytes into U+FFFD.
		return nil, errorf(JSON, "input is not valid UTF-8")
	}
	p := &jsonDecoder{d: json.NewDecoder(bytes.NewReader(data)), lim: lim}
	p.d.UseNumber() // keep number literals exactly as written
	tok, err := p.d.Token()
	if err == io.EOF {
		return nil, errorf(JSON, "empty input")
	}
	if err != nil {
		return nil, p.syntax(err)
	}
	v, err := p.value(tok, 1)
	if err != nil {
		return nil, err
	}
	if _, err := p.d.Token(); err != io.EOF {
		return nil, errorf(JSON, "offset %d: data after the top-level value", p.d.InputOffset())
	}
	return v, nil
}

// syntax turns an encoding/json error into an *Error.
func (p *jsonDecoder) syntax(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return errorf(JSON, "offset %d: %s", se.Offset, foreignMessage(se))
	case errors.Is(err, io.ErrUnexpectedEOF), err == io.EOF:
		return errorf(JSON, "unexpected end of input")
	}
	return errorf(JSON, "%s", foreignMessage(err))
}

func (p *jsonDecoder) next() (json.Token, error) {
	tok, err := p.d.Token()
	if err != nil {
		return nil, p.syntax(err)
	}
	return tok, nil
}

func (p *jsonDecoder) count() error {
	p.nodes++
	if p.nodes > p.lim.MaxNodes {
		return errorf(JSON, "more than %d nodes", p.lim.MaxNodes)
	}
	return nil
}

// value decodes the value that starts with tok, at nesting depth (the
// top-level value is at depth 1 if it is an object or array).
func (p *jsonDecoder) value(tok json.Token, depth int) (*jval, error) {
	if err := p.count(); err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case string:
		return &jval{kind: jString, s: t}, nil
	case json.Number:
		if len(t) > maxNumberLen {
			return nil, errorf(JSON, "offset %d: a number literal longer than %d characters", p.d.InputOffset(), maxNumberLen)
		}
		return &jval{kind: jNumber, s: string(t)}, nil
	case bool:
		if t {
			return &jval{kind: jBool, s: "true"}, nil
		}
		return &jval{kind: jBool, s: "false"}, nil
	case nil:
		return &jval{kind: jNull}, nil
	case json.Delim:
		if depth > p.lim.MaxDepth {
			return nil, errorf(JSON, "nesting deeper than %d", p.lim.MaxDepth)
		}
		if t == '{' {
			return p.object(depth)
		}
		if t == '[' {
			return p.array(depth)
		}
	}
	// Token returns a closing delimiter only where one is due, and the
	// callers consume those themselves.
	return nil, errorf(JSON, "offset %d: unexpected %v", p.d.InputOffset(), tok)
}

func (p *jsonDecoder) object(depth int) (*jval, error) {
	v := &jval{kind: jObject}
	var index map[string]struct{}
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		if tok == json.Delim('}') {
			return v, nil
		}
		key, ok := tok.(string)
		if !ok { // cannot happen: Token checks that a key is a string
			return nil, errorf(JSON, "offset %d: object key is not a string", p.d.InputOffset())
		}
		if err := p.count(); err != nil {
			return nil, err
		}
		// A repeated key has no one meaning (RFC 8259 §4) and would turn
		// into a repeated element or form field, so it is refused.
		dup := false
		if index != nil {
			_, dup = index[key]
			index[key] = struct{}{}
		} else {
			for _, k := range v.keys {
				if k == key {
					dup = true
					break
				}
			}
			if len(v.keys)+1 == dupIndexAt {
				index = make(map[string]struct{}, 2*dupIndexAt)
				for _, k := range v.keys {
					index[k] = struct{}{}
				}
				index[key] = struct{}{}
			}
		}
		if dup {
			return nil, errorf(JSON, "offset %d: duplicate key %s", p.d.InputOffset(), excerpt(key))
		}
		tok, err = p.next()
		if err != nil {
			return nil, err
		}
		val, err := p.value(tok, depth+1)
		if err != nil {
			return nil, err
		}
		v.keys = append(v.keys, key)
		v.vals = append(v.vals, val)
	}
}

func (p *jsonDecoder) array(depth int) (*jval, error) {
	v := &jval{kind: jArray}
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		if tok == json.Delim(']') {
			return v, nil
		}
		item, err := p.value(tok, depth+1)
		if err != nil {
			return nil, err
		}
		v.vals = append(v.vals, item)
	}
}

// writeJSONString appends s as a JSON string. Only what JSON requires is
// escaped (quote, backslash, control characters), not <, > and & as
// encoding/json does for HTML: the output is a message body, and a minimal
// escaping keeps it stable, so round trips compare byte for byte. s must be
// valid UTF-8 (every caller has checked it).
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
