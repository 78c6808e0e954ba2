package convert

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// XMLToJSON converts an XML document to JSON by the mapping in the package
// documentation. The document is read as a stream of tokens with every
// limit checked as it goes; a DOCTYPE, an entity other than the five
// predefined ones, a charset other than UTF-8 (or US-ASCII), a second root
// element or anything but whitespace, comments and processing instructions
// after the root is an error.
func XMLToJSON(data []byte, lim Limits) ([]byte, error) {
	lim = lim.withDefaults()
	if err := lim.checkSize(XML, data); err != nil {
		return nil, err
	}
	root, err := readXML(data, lim)
	if err != nil {
		return nil, err
	}
	w := jsonWriter{max: lim.maxOutput()}
	w.b.Grow(len(data) + len(data)/4)
	w.b.WriteByte('{')
	writeJSONString(&w.b, root.name)
	w.b.WriteByte(':')
	if err := w.element(root); err != nil {
		return nil, err
	}
	w.b.WriteByte('}')
	return w.b.Bytes(), nil
}

// xnode is one element as read: what it maps to in JSON.
type xnode struct {
	name    string
	attrs   []xattr
	groups  []xgroup       // child elements by name, in order of first appearance
	index   map[string]int // name -> groups index, once there are many groups
	text    []byte         // the "#text" value
	textPos int            // "#text" goes before groups[textPos]; -1 for none
}

type xattr struct{ name, value string }

// xgroup holds the children of one name: several make a JSON array.
type xgroup struct {
	name  string
	nodes []*xnode
}

// xframe is an element still open while reading.
type xframe struct {
	n   *xnode
	run []byte // character data since the last tag (comments and PIs are transparent)
}

// xmlReader holds the state of one readXML.
type xmlReader struct {
	d          *xml.Decoder
	lim        Limits
	nodes      int
	charsetErr string
	stack      []xframe
	root       *xnode
	rootClosed bool
}

// readXML parses data into an xnode tree.
func readXML(data []byte, lim Limits) (*xnode, error) {
	// A UTF-8 byte order mark is allowed before the XML declaration.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := &xmlReader{d: xml.NewDecoder(bytes.NewReader(data)), lim: lim}
	r.d.Strict = true // undefined entities and malformed markup are errors
	r.d.Entity = nil  // only &lt; &gt; &amp; &apos; &quot; and character references
	r.d.CharsetReader = r.charset
	for {
		// RawToken, not Token: Token rewrites a namespace prefix into its
		// URL, and the mapping keeps names as written. Start and end tags
		// are matched here instead.
		tok, err := r.d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, r.syntax(err)
		}
		if err := r.token(tok); err != nil {
			return nil, err
		}
	}
	if len(r.stack) > 0 {
		return nil, r.errorf("unexpected end of input inside <%s>", clip(r.stack[len(r.stack)-1].n.name, maxExcerpt))
	}
	if r.root == nil {
		return nil, errorf(XML, "no root element")
	}
	return r.root, nil
}

// charset accepts only encodings that are UTF-8 already. encoding/xml calls
// it for a declared encoding other than UTF-8.
func (r *xmlReader) charset(label string, in io.Reader) (io.Reader, error) {
	if utf8Charset(label) {
		return in, nil // US-ASCII, a subset of UTF-8: read as it is
	}
	r.charsetErr = "encoding " + excerpt(label) + " is not supported (only UTF-8)"
	return nil, errors.New(r.charsetErr)
}

func (r *xmlReader) line() int {
	l, _ := r.d.InputPos()
	return l
}

func (r *xmlReader) errorf(format string, args ...any) error {
	e := errorf(XML, format, args...)
	e.Msg = "line " + strconv.Itoa(r.line()) + ": " + e.Msg
	return e
}

// syntax turns an encoding/xml error into an *Error.
func (r *xmlReader) syntax(err error) error {
	if r.charsetErr != "" {
		return r.errorf("%s", r.charsetErr)
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return errorf(XML, "line %d: %s", se.Line, clip(se.Msg, 160))
	}
	return r.errorf("%s", foreignMessage(err))
}

func (r *xmlReader) count() error {
	r.nodes++
	if r.nodes > r.lim.MaxNodes {
		return r.errorf("more than %d nodes", r.lim.MaxNodes)
	}
	return nil
}

// name renders a raw name as written: "prefix:local" or "local".
// encoding/xml checks a name as a whole and splits it at its only colon.
// Two kinds of XML name are not namespace-qualified names (XML Namespaces
// §3), which JSONToXML would refuse to write back, so they are refused here
// too: a colon at either end (left in Local), and a local part that does
// not start as a name does (<a:1b>).
func (r *xmlReader) name(n xml.Name, what string) (string, error) {
	if n.Space == "" {
		if strings.Contains(n.Local, ":") {
			return "", r.errorf("%s name %s is not a valid qualified name", what, excerpt(n.Local))
		}
		return n.Local, nil
	}
	if !localStartOK(n.Local) {
		return "", r.errorf("%s name %s is not a valid qualified name", what, excerpt(n.Space+":"+n.Local))
	}
	return n.Space + ":" + n.Local, nil
}

func (r *xmlReader) token(tok xml.Token) error {
	if _, end := tok.(xml.EndElement); !end {
		if err := r.count(); err != nil {
			return err
		}
	}
	switch t := tok.(type) {
	case xml.StartElement:
		return r.start(t)
	case xml.EndElement:
		return r.end(t)
	case xml.CharData:
		if len(r.stack) > 0 {
			f := &r.stack[len(r.stack)-1]
			f.run = append(f.run, t...)
			return nil
		}
		if !isSpace(t) {
			if r.rootClosed {
				return r.errorf("data after the root element")
			}
			return r.errorf("text before the root element")
		}
	case xml.Directive:
		// encoding/xml never expands external entities, but a DTD is
		// still refused outright: no entity declarations, no billion
		// laughs, nothing for another parser downstream to expand.
		if bytes.HasPrefix(t, []byte("DOCTYPE")) {
			return r.errorf("DOCTYPE is not allowed (no DTDs)")
		}
		return r.errorf("markup declaration <!%s> is not allowed", clip(string(t), 16))
	case xml.Comment, xml.ProcInst:
		// Dropped. encoding/xml has checked the xml declaration's
		// version and passed its encoding to charset.
	}
	return nil
}

func (r *xmlReader) start(t xml.StartElement) error {
	if r.root != nil && len(r.stack) == 0 {
		return r.errorf("more than one root element")
	}
	if len(r.stack) >= r.lim.MaxDepth {
		return r.errorf("nesting deeper than %d", r.lim.MaxDepth)
	}
	name, err := r.name(t.Name, "element")
	if err != nil {
		return err
	}
	n := &xnode{name: name, textPos: -1}
	if len(t.Attr) > 0 {
		n.attrs = make([]xattr, 0, len(t.Attr))
		var seen map[string]struct{}
		if len(t.Attr) >= dupIndexAt {
			seen = make(map[string]struct{}, len(t.Attr))
		}
		for _, a := range t.Attr {
			if err := r.count(); err != nil {
				return err
			}
			an, err := r.name(a.Name, "attribute")
			if err != nil {
				return err
			}
			// encoding/xml does not check this (XML 1.0 §3.1 does); two
			// equal keys would make an ambiguous JSON object.
			dup := false
			if seen != nil {
				_, dup = seen[an]
				seen[an] = struct{}{}
			} else {
				for _, b := range n.attrs {
					dup = dup || b.name == an
				}
			}
			if dup {
				return r.errorf("attribute %s repeated in <%s>", excerpt(an), clip(name, maxExcerpt))
			}
			n.attrs = append(n.attrs, xattr{an, a.Value})
		}
	}
	if len(r.stack) == 0 {
		r.root = n
	} else {
		parent := &r.stack[len(r.stack)-1]
		parent.flush()
		parent.n.add(n)
	}
	r.stack = append(r.stack, xframe{n: n})
	return nil
}

func (r *xmlReader) end(t xml.EndElement) error {
	name, err := r.name(t.Name, "element")
	if err != nil {
		return err
	}
	if len(r.stack) == 0 {
		return r.errorf("unexpected end element </%s>", clip(name, maxExcerpt))
	}
	f := &r.stack[len(r.stack)-1]
	if f.n.name != name {
		return r.errorf("element <%s> closed by </%s>", clip(f.n.name, maxExcerpt), clip(name, maxExcerpt))
	}
	if len(f.n.groups) == 0 {
		// A leaf keeps its text exactly, whitespace and all.
		f.n.text = f.run
		if len(f.run) > 0 {
			f.n.textPos = 0
		}
	} else {
		f.flush()
	}
	r.stack[len(r.stack)-1] = xframe{}
	r.stack = r.stack[:len(r.stack)-1]
	if len(r.stack) == 0 {
		r.rootClosed = true
	}
	return nil
}

// flush ends a run of character data at a tag, in an element that has (or
// is about to have) child elements: a run that is only whitespace is
// indentation and dropped; any other run joins "#text", which is placed
// where its first run was.
func (f *xframe) flush() {
	if len(f.run) == 0 {
		return
	}
	if !isSpace(f.run) {
		if f.n.textPos < 0 {
			f.n.textPos = len(f.n.groups)
		}
		f.n.text = append(f.n.text, f.run...)
	}
	f.run = f.run[:0]
}

// add appends child c to n's group of its name.
func (n *xnode) add(c *xnode) {
	if n.index != nil {
		if i, ok := n.index[c.name]; ok {
			n.groups[i].nodes = append(n.groups[i].nodes, c)
			return
		}
	} else {
		for i := range n.groups {
			if n.groups[i].name == c.name {
				n.groups[i].nodes = append(n.groups[i].nodes, c)
				return
			}
		}
	}
	n.groups = append(n.groups, xgroup{name: c.name, nodes: []*xnode{c}})
	if n.index != nil {
		n.index[c.name] = len(n.groups) - 1
	} else if len(n.groups) == dupIndexAt {
		n.index = make(map[string]int, 2*dupIndexAt)
		for i, g := range n.groups {
			n.index[g.name] = i
		}
	}
}

// isSpace reports whether b is only XML white space (S, XML 1.0 §2.3).
func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// jsonWriter writes the JSON form of an xnode tree.
type jsonWriter struct {
	b   bytes.Buffer
	max int64
}

func (w *jsonWriter) check() error {
	if int64(w.b.Len()) > w.max {
		return errorf(XML, "output would be larger than %d bytes", w.max)
	}
	return nil
}

// element writes n's value: a string for an element with neither
// attributes nor children, otherwise an object of "@" attributes, then
// children and "#text" in document order.
func (w *jsonWriter) element(n *xnode) error {
	if len(n.attrs) == 0 && len(n.groups) == 0 {
		writeJSONString(&w.b, string(n.text))
		return w.check()
	}
	w.b.WriteByte('{')
	comma := false
	sep := func() {
		if comma {
			w.b.WriteByte(',')
		}
		comma = true
	}
	for _, a := range n.attrs {
		sep()
		writeJSONString(&w.b, "@"+a.name)
		w.b.WriteByte(':')
		writeJSONString(&w.b, a.value)
	}
	for i := 0; i <= len(n.groups); i++ {
		if i == n.textPos {
			sep()
			w.b.WriteString(`"#text":`)
			writeJSONString(&w.b, string(n.text))
		}
		if i == len(n.groups) {
			break
		}
		g := n.groups[i]
		sep()
		writeJSONString(&w.b, g.name)
		w.b.WriteByte(':')
		if len(g.nodes) == 1 {
			if err := w.element(g.nodes[0]); err != nil {
				return err
			}
			continue
		}
		w.b.WriteByte('[')
		for j, c := range g.nodes {
			if j > 0 {
				w.b.WriteByte(',')
			}
			if err := w.element(c); err != nil {
				return err
			}
		}
		w.b.WriteByte(']')
	}
	w.b.WriteByte('}')
	return w.check()
}

// utf8Charset reports whether a charset label names UTF-8 or its subset
// US-ASCII, the only encodings read.
func utf8Charset(label string) bool {
	switch strings.ToLower(label) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}
