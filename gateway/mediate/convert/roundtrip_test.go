package convert

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
)

// The exactly reversible subset (see the package documentation): a
// one-key object naming the root element, whose value is a string or an
// object; every object non-empty and not only "#text", with its "@" keys
// (string values) first, then child keys whose values are strings, such
// objects, or arrays of two or more strings or such objects, and at most
// one "#text" (a non-empty string, with a non-space character when the
// object has child keys) anywhere among the child keys. genDoc makes
// documents of that subset; for each, XMLToJSON(JSONToXML(j)) must give j
// byte for byte.

type gen struct {
	r *rand.Rand
	b bytes.Buffer
}

var (
	nameStarts = []string{"a", "b", "item", "Order", "_x", "ns:el", "s:a", "é", "日本", "x"}
	nameRests  = []string{"", "", "1", "-b", ".c", "_d", "z", "語"}
	textPieces = []string{"", "x", "hello", " ", "  ", "\t", "\n", "\r", "\r\n", "<", ">", "&", "]]>", `"`, "'", "é", "日本", "😀", "\\", "/", "0", "-1.5", "true", "\u2028"}
)

func (g *gen) name() string {
	return nameStarts[g.r.Intn(len(nameStarts))] + nameRests[g.r.Intn(len(nameRests))]
}

func (g *gen) text() string {
	var s strings.Builder
	for n := g.r.Intn(4); n > 0; n-- {
		s.WriteString(textPieces[g.r.Intn(len(textPieces))])
	}
	return s.String()
}

// nonSpaceText is a text with at least one non-whitespace character.
func (g *gen) nonSpaceText() string {
	for {
		if s := g.text(); !isSpace([]byte(s)) {
			return s
		}
	}
}

func (g *gen) key(k string) {
	writeJSONString(&g.b, k)
	g.b.WriteByte(':')
}

func (g *gen) doc(maxDepth int) []byte {
	g.b.Reset()
	g.b.WriteByte('{')
	g.key(g.name())
	if g.r.Intn(5) == 0 {
		writeJSONString(&g.b, g.text())
	} else {
		g.object(maxDepth)
	}
	g.b.WriteByte('}')
	return append([]byte(nil), g.b.Bytes()...)
}

func (g *gen) object(depth int) {
	g.b.WriteByte('{')
	used := map[string]bool{}
	fresh := func(prefix string) string {
		for {
			if n := prefix + g.name(); !used[n] {
				used[n] = true
				return n
			}
		}
	}
	nattr, nchild := g.r.Intn(3), g.r.Intn(4)
	if depth <= 1 {
		nchild = 0
	}
	if nattr == 0 && nchild == 0 {
		nattr = 1 // an object with nothing but text would read back as a string
	}
	comma := false
	sep := func() {
		if comma {
			g.b.WriteByte(',')
		}
		comma = true
	}
	for i := 0; i < nattr; i++ {
		sep()
		g.key(fresh("@"))
		writeJSONString(&g.b, g.text())
	}
	textAt := -1
	if g.r.Intn(3) == 0 {
		textAt = g.r.Intn(nchild + 1)
	}
	for i := 0; i <= nchild; i++ {
		if i == textAt {
			sep()
			g.key(textKey)
			if nchild > 0 {
				writeJSONString(&g.b, g.nonSpaceText())
			} else {
				writeJSONString(&g.b, g.nonEmptyText())
			}
		}
		if i == nchild {
			break
		}
		sep()
		g.key(fresh(""))
		switch g.r.Intn(3) {
		case 0:
			writeJSONString(&g.b, g.text())
		case 1:
			g.object(depth - 1)
		default:
			g.b.WriteByte('[')
			for j, n := 0, 2+g.r.Intn(3); j < n; j++ {
				if j > 0 {
					g.b.WriteByte(',')
				}
				if g.r.Intn(2) == 0 {
					writeJSONString(&g.b, g.text())
				} else {
					g.object(depth - 1)
				}
			}
			g.b.WriteByte(']')
		}
	}
	g.b.WriteByte('}')
}

func (g *gen) nonEmptyText() string {
	for {
		if s := g.text(); s != "" {
			return s
		}
	}
}

func TestRoundTripJSONXMLJSON(t *testing.T) {
	g := &gen{r: rand.New(rand.NewSource(1))}
	for i := 0; i < 1000; i++ {
		j := g.doc(1 + i%6)
		if !json.Valid(j) {
			t.Fatalf("generator made invalid JSON: %s", j)
		}
		x, err := JSONToXML(j, "", Limits{})
		if err != nil {
			t.Fatalf("case %d: JSONToXML(%s): %v", i, j, err)
		}
		back, err := XMLToJSON(x, Limits{})
		if err != nil {
			t.Fatalf("case %d: XMLToJSON(%s): %v", i, x, err)
		}
		if !bytes.Equal(back, j) {
			t.Fatalf("case %d: round trip changed the document\n  in %s\n xml %s\n out %s", i, j, x, back)
		}
	}
}

// TestRoundTripCompactedInput: the exact property holds for any layout of
// the input, after compacting it.
func TestRoundTripCompactedInput(t *testing.T) {
	in := []byte("{\n  \"order\": {\n    \"@id\": \"7\",\n    \"item\": [\"a\", {\"@n\": \"2\", \"#text\": \"b\"}],\n    \"note\": \"x\"\n  }\n}\n")
	x, err := JSONToXML(in, "", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	back, err := XMLToJSON(x, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, c.Bytes()) {
		t.Fatalf("got %s, want %s", back, c.Bytes())
	}
}

// xmlGen makes random XML documents with what the mapping has to cope
// with: attributes, repeated and interleaved siblings, mixed content,
// indentation, comments, processing instructions, CDATA, references.
type xmlGen struct {
	r *rand.Rand
	b strings.Builder
}

var xmlTexts = []string{"x", "hello world", " ", "\n  ", "\t", "&lt;", "&amp;", "&gt;", "&quot;", "&apos;", "&#xD;", "&#65;", "é", "😀", "<![CDATA[<raw>&]]>", "<!--c-->", "<?pi data?>", "\r\n", "0"}

func (g *xmlGen) name() string {
	if g.r.Intn(2) == 0 { // a small pool, so that siblings repeat
		return []string{"a", "b", "item"}[g.r.Intn(3)]
	}
	return nameStarts[g.r.Intn(len(nameStarts))] + nameRests[g.r.Intn(len(nameRests))]
}

func (g *xmlGen) doc() []byte {
	g.b.Reset()
	if g.r.Intn(2) == 0 {
		g.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	}
	if g.r.Intn(3) == 0 {
		g.b.WriteString("<!-- head -->\n")
	}
	g.element(1 + g.r.Intn(6))
	if g.r.Intn(3) == 0 {
		g.b.WriteString("\n<!-- tail --><?pi?>\n")
	}
	return []byte(g.b.String())
}

func (g *xmlGen) element(depth int) {
	name := g.name()
	g.b.WriteString("<" + name)
	used := map[string]bool{}
	for n := g.r.Intn(3); n > 0; n-- {
		a := g.name()
		if used[a] {
			continue
		}
		used[a] = true
		q := `"`
		if g.r.Intn(2) == 0 {
			q = "'"
		}
		v := xmlTexts[g.r.Intn(6)] // no markup in attribute values
		g.b.WriteString(" " + a + "=" + q + v + q)
	}
	if g.r.Intn(4) == 0 {
		g.b.WriteString("/>")
		return
	}
	g.b.WriteString(">")
	n := g.r.Intn(5)
	if depth <= 1 {
		n = 0
	}
	for i := 0; i <= n; i++ {
		if g.r.Intn(2) == 0 {
			g.b.WriteString(xmlTexts[g.r.Intn(len(xmlTexts))])
		}
		if i < n {
			g.element(depth - 1)
		}
	}
	g.b.WriteString("</" + name + ">")
}

// TestRoundTripXMLFixedPoint: XML -> JSON -> XML -> JSON gives the first
// JSON again, and the XML written the second time is the same as the first.
func TestRoundTripXMLFixedPoint(t *testing.T) {
	g := &xmlGen{r: rand.New(rand.NewSource(2))}
	for i := 0; i < 1000; i++ {
		x := g.doc()
		j1, err := XMLToJSON(x, Limits{})
		if err != nil {
			t.Fatalf("case %d: XMLToJSON(%s): %v", i, x, err)
		}
		if !json.Valid(j1) {
			t.Fatalf("case %d: invalid JSON %s", i, j1)
		}
		x2, err := JSONToXML(j1, "", Limits{})
		if err != nil {
			t.Fatalf("case %d: JSONToXML(%s): %v\n(from %s)", i, j1, err, x)
		}
		j2, err := XMLToJSON(x2, Limits{})
		if err != nil {
			t.Fatalf("case %d: XMLToJSON(%s): %v", i, x2, err)
		}
		if !bytes.Equal(j1, j2) {
			t.Fatalf("case %d: not a fixed point\n x %s\nj1 %s\nx2 %s\nj2 %s", i, x, j1, x2, j2)
		}
		x3, err := JSONToXML(j2, "", Limits{})
		if err != nil || !bytes.Equal(x2, x3) {
			t.Fatalf("case %d: XML not stable: %s vs %s (%v)", i, x2, x3, err)
		}
	}
}
