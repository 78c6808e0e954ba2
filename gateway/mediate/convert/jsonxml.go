package convert

import (
	"bytes"
	"encoding/xml"
	"strings"
	"unicode/utf8"
)

// xmlDeclaration starts every document JSONToXML writes.
const xmlDeclaration = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// JSONToXML converts a JSON document to XML by the mapping in the package
// documentation. An object with exactly one key that names an element and
// whose value is not an array becomes that element, as the document root
// (the inverse of XMLToJSON); any other value is the content of an element
// named root ("root" if empty). A top-level array, an array directly inside
// an array, a key that is not a valid XML name, or a string with a
// character XML cannot carry is an error. Output is compact: no
// indentation is added, since it would change "#text" values.
func JSONToXML(data []byte, root string, lim Limits) ([]byte, error) {
	lim = lim.withDefaults()
	if root == "" {
		root = "root"
	}
	if !validName(root) {
		return nil, errorf(XML, "root element name %s is not a valid XML name", excerpt(root))
	}
	v, err := decodeJSON(data, lim)
	if err != nil {
		return nil, err
	}
	w := xmlWriter{max: lim.maxOutput()}
	w.b.Grow(len(data) + len(data)/2 + len(xmlDeclaration))
	w.b.WriteString(xmlDeclaration)
	switch {
	case v.kind == jObject && len(v.keys) == 1 && elementKey(v.keys[0]) && v.vals[0].kind != jArray:
		err = w.element(v.keys[0], v.vals[0])
	case v.kind == jArray:
		err = errorf(JSON, "a top-level array has no XML form (its items would need a name): wrap it in an object")
	default:
		err = w.element(root, v)
	}
	if err != nil {
		return nil, err
	}
	return w.b.Bytes(), nil
}

// textKey holds an element's character data in the JSON form.
const textKey = "#text"

// elementKey reports whether an object key stands for child elements
// (rather than an attribute or the text).
func elementKey(k string) bool {
	return k != textKey && !strings.HasPrefix(k, "@")
}

// xmlWriter writes the XML form of a jval tree.
type xmlWriter struct {
	b     bytes.Buffer
	max   int64
	names map[string]bool // validName results for non-ASCII names
}

// validName is validName with the slow (non-ASCII) answers remembered: an
// array writes its key once per item.
func (w *xmlWriter) validName(s string) bool {
	ascii := true
	for i := 0; i < len(s) && ascii; i++ {
		ascii = s[i] < utf8.RuneSelf
	}
	if ascii {
		return validName(s)
	}
	if ok, seen := w.names[s]; seen {
		return ok
	}
	if w.names == nil {
		w.names = make(map[string]bool)
	}
	ok := validName(s)
	w.names[s] = ok
	return ok
}

func (w *xmlWriter) check() error {
	if int64(w.b.Len()) > w.max {
		return errorf(XML, "output would be larger than %d bytes", w.max)
	}
	return nil
}

// element writes v as an element called name.
func (w *xmlWriter) element(name string, v *jval) error {
	if !w.validName(name) {
		return errorf(JSON, "key %s is not a valid XML name", excerpt(name))
	}
	w.b.WriteByte('<')
	w.b.WriteString(name)
	switch {
	case v.kind == jNull || v.scalar() && v.s == "":
		w.b.WriteString("/>")
		return w.check()
	case v.scalar():
		w.b.WriteByte('>')
		if err := w.text(name, v.s); err != nil {
			return err
		}
	case v.kind == jObject:
		if err := w.attributes(name, v); err != nil {
			return err
		}
		if !hasContent(v) {
			w.b.WriteString("/>")
			return w.check()
		}
		w.b.WriteByte('>')
		if err := w.content(name, v); err != nil {
			return err
		}
	default: // arrays are taken apart by content
		return errorf(JSON, "an array directly inside an array (under key %s) has no XML form", excerpt(name))
	}
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteByte('>')
	return w.check()
}

// attributes writes an object's "@" keys, whatever their place among its
// keys: XML has them in the start tag. It checks the other keys' names
// too, so that a bad key is an error even where it writes nothing (an empty
// array).
func (w *xmlWriter) attributes(elem string, v *jval) error {
	for i, k := range v.keys {
		a, ok := strings.CutPrefix(k, "@")
		if !ok {
			if k != textKey && !w.validName(k) {
				return errorf(JSON, "key %s is not a valid XML name", excerpt(k))
			}
			continue
		}
		if !w.validName(a) {
			return errorf(JSON, "key %s is not a valid XML attribute name", excerpt(k))
		}
		val := v.vals[i]
		if !val.scalar() {
			return errorf(JSON, "attribute %s of <%s> must be a string, number, boolean or null", excerpt(k), clip(elem, maxExcerpt))
		}
		w.b.WriteByte(' ')
		w.b.WriteString(a)
		w.b.WriteString(`="`)
		if err := w.escape(elem, val.s, true); err != nil {
			return err
		}
		w.b.WriteByte('"')
	}
	return nil
}

// hasContent reports whether an object has anything to write between the
// start and end tags.
func hasContent(v *jval) bool {
	for i, k := range v.keys {
		switch {
		case k == textKey:
			if v.vals[i].scalar() && v.vals[i].s != "" {
				return true
			}
			if !v.vals[i].scalar() {
				return true // an error, reported by content
			}
		case elementKey(k):
			if v.vals[i].kind != jArray || len(v.vals[i].vals) > 0 {
				return true
			}
		}
	}
	return false
}

// content writes an object's "#text" and child elements in key order.
func (w *xmlWriter) content(elem string, v *jval) error {
	for i, k := range v.keys {
		val := v.vals[i]
		switch {
		case k == textKey:
			if !val.scalar() {
				return errorf(JSON, `"#text" of <%s> must be a string, number, boolean or null`, clip(elem, maxExcerpt))
			}
			if err := w.text(elem, val.s); err != nil {
				return err
			}
		case !elementKey(k):
			// an attribute, written by attributes
		case val.kind == jArray:
			// Repeated elements, one per item, in order.
			for _, item := range val.vals {
				if err := w.element(k, item); err != nil {
					return err
				}
			}
		default:
			if err := w.element(k, val); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *xmlWriter) text(elem, s string) error { return w.escape(elem, s, false) }

// escape writes s as character data or (attr) an attribute value. Besides
// the markup characters, it writes a carriage return as a character
// reference, which a parser keeps, where a literal one would be read as a
// newline; in an attribute it does the same for tab and newline, which a
// parser would otherwise normalise to spaces (XML 1.0 §3.3.3). A character
// XML cannot carry at all (most control characters, U+FFFE, U+FFFF) is an
// error rather than being replaced.
func (w *xmlWriter) escape(elem, s string, attr bool) error {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		width := 1
		switch {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '\r':
			esc = "&#xD;"
		case c == '"' && attr:
			esc = "&quot;"
		case c == '\n' && attr:
			esc = "&#xA;"
		case c == '\t' && attr:
			esc = "&#x9;"
		case c == '\n' || c == '\t':
		case c < 0x20:
			return errorf(JSON, "a value in <%s> contains U+%04X, which XML cannot carry", clip(elem, maxExcerpt), c)
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == 0xFFFE || r == 0xFFFF {
				return errorf(JSON, "a value in <%s> contains U+%04X, which XML cannot carry", clip(elem, maxExcerpt), r)
			}
			width = n
		}
		if esc != "" {
			w.b.WriteString(s[start:i])
			w.b.WriteString(esc)
			start = i + 1
		}
		i += width
	}
	w.b.WriteString(s[start:])
	return nil
}

// validName reports whether s can be written as an element or attribute
// name that XMLToJSON (and any namespace-aware parser) reads back as the
// same name: a QName (XML Namespaces §3), NCName or NCName:NCName.
func validName(s string) bool {
	prefix, local, ok := strings.Cut(s, ":")
	if !ok {
		return validNCName(s)
	}
	return validNCName(prefix) && validNCName(local)
}

// validNCName reports whether s is an XML name without a colon. ASCII is
// checked here; anything else by encoding/xml itself, whose tables of name
// characters (XML 1.0 Appendix B) are the ones that count for reading back.
func validNCName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf:
			return ncNameSlow(s)
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case '0' <= c && c <= '9', c == '-', c == '.':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// localStartOK reports whether the local part of a prefixed name read by
// encoding/xml starts as a name must: encoding/xml checks the name as a
// whole, where a digit may follow the colon.
func localStartOK(local string) bool {
	if local == "" {
		return false
	}
	if c := local[0]; c < utf8.RuneSelf {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
	}
	_, n := utf8.DecodeRuneInString(local)
	return ncNameSlow(local[:n])
}

// ncNameSlow asks encoding/xml whether s is a name: it must read <s/> as
// one start element called s.
func ncNameSlow(s string) bool {
	if strings.ContainsAny(s, ":") {
		return false
	}
	d := xml.NewDecoder(strings.NewReader("<" + s + "/>"))
	d.Strict = true
	tok, err := d.RawToken()
	if err != nil {
		return false
	}
	se, ok := tok.(xml.StartElement)
	return ok && len(se.Attr) == 0 && se.Name.Space == "" && se.Name.Local == s
}
