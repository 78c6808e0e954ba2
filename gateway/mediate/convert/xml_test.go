package convert

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestXMLToJSONRules covers each rule of the mapping, XML to JSON.
func TestXMLToJSONRules(t *testing.T) {
	for _, c := range []struct{ name, xml, json string }{
		{"root is a one-key object", `<order></order>`, `{"order":""}`},
		{"text", `<a>x</a>`, `{"a":"x"}`},
		{"text kept exactly", "<a>  x \n</a>", `{"a":"  x \n"}`},
		{"whitespace-only leaf", `<a> </a>`, `{"a":" "}`},
		{"empty element", `<a/>`, `{"a":""}`},
		{"attribute", `<a id="1"/>`, `{"a":{"@id":"1"}}`},
		{"attributes in order", `<a z="1" b="2" m="3"/>`, `{"a":{"@z":"1","@b":"2","@m":"3"}}`},
		{"attribute and text", `<a id="1">x</a>`, `{"a":{"@id":"1","#text":"x"}}`},
		{"attribute and whitespace text", `<a id="1"> </a>`, `{"a":{"@id":"1","#text":" "}}`},
		{"children", `<a><b>1</b><c>2</c></a>`, `{"a":{"b":"1","c":"2"}}`},
		{"repeated children", `<l><i>1</i><i>2</i></l>`, `{"l":{"i":["1","2"]}}`},
		{"single child is no array", `<l><i>1</i></l>`, `{"l":{"i":"1"}}`},
		{"repeated grouped at first appearance", `<l><a/><b/><a>x</a></l>`, `{"l":{"a":["","x"],"b":""}}`},
		{"indentation dropped", "<l>\n  <i>1</i>\n  <i>2</i>\n</l>", `{"l":{"i":["1","2"]}}`},
		{"mixed content", `<p>Hi <b>x</b> there</p>`, `{"p":{"#text":"Hi  there","b":"x"}}`},
		{"mixed text placed at first run", `<p><b>x</b>tail</p>`, `{"p":{"b":"x","#text":"tail"}}`},
		{"mixed with attributes", `<p id="1"><b/>t</p>`, `{"p":{"@id":"1","b":"","#text":"t"}}`},
		{"nested", `<a><b><c>deep</c></b></a>`, `{"a":{"b":{"c":"deep"}}}`},
		{"array of objects", `<l><i n="1"/><i n="2">x</i></l>`, `{"l":{"i":[{"@n":"1"},{"@n":"2","#text":"x"}]}}`},
		{"namespaces as written", `<s:a xmlns:s="urn:x" s:k="v"><s:b/></s:a>`, `{"s:a":{"@xmlns:s":"urn:x","@s:k":"v","s:b":""}}`},
		{"default namespace", `<a xmlns="urn:x"/>`, `{"a":{"@xmlns":"urn:x"}}`},
		{"entities", `<a t="&quot;&apos;">&lt;&gt;&amp;&#65;&#x42;</a>`, `{"a":{"@t":"\"'","#text":"<>&AB"}}`},
		{"CDATA is text", `<a><![CDATA[<x>&]]></a>`, `{"a":"<x>&"}`},
		{"comments and PIs dropped", `<?xml version="1.0"?><!--c--><a>x<!--c-->y<?pi z?></a><!--c-->`, `{"a":"xy"}`},
		{"CRLF normalised", "<a>x\r\ny\rz</a>", `{"a":"x\ny\nz"}`},
		{"escaped CR kept", `<a>x&#xD;</a>`, `{"a":"x\r"}`},
		{"control characters escaped in JSON", "<a>\t&quot;\\</a>", `{"a":"\t\"\\"}`},
		{"non-ASCII", `<日本 語="値">é😀</日本>`, `{"日本":{"@語":"値","#text":"é😀"}}`},
		{"BOM", "\xef\xbb\xbf<a/>", `{"a":""}`},
		{"us-ascii declared", `<?xml version="1.0" encoding="US-ASCII"?><a/>`, `{"a":""}`},
		{"utf-8 declared", `<?xml version="1.0" encoding="utf-8"?><a/>`, `{"a":""}`},
		{"keys starting with @ or # are impossible from XML", `<a b="1"><b>2</b></a>`, `{"a":{"@b":"1","b":"2"}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := XMLToJSON([]byte(c.xml), Limits{})
			if err != nil {
				t.Fatalf("XMLToJSON(%q): %v", c.xml, err)
			}
			if string(got) != c.json {
				t.Fatalf("XMLToJSON(%q)\n got %s\nwant %s", c.xml, got, c.json)
			}
		})
	}
}

// TestXMLToJSONErrors covers each refusal, and that its message says why.
func TestXMLToJSONErrors(t *testing.T) {
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>`
	for _, c := range []struct {
		name, xml string
		lim       Limits
		want      string
	}{
		{"XXE", `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`, Limits{}, "XML: line 1: DOCTYPE is not allowed (no DTDs)"},
		{"billion laughs", laughs, Limits{}, "XML: line 1: DOCTYPE is not allowed (no DTDs)"},
		{"plain DOCTYPE", "<?xml version=\"1.0\"?>\n<!DOCTYPE html>\n<html/>", Limits{}, "XML: line 2: DOCTYPE is not allowed (no DTDs)"},
		{"other declaration", `<!ENTITY x "y"><a/>`, Limits{}, "markup declaration <!ENTITY x \"y\"> is not allowed"},
		{"undefined entity", `<x>&e;</x>`, Limits{}, "XML: line 1: invalid character entity &e;"},
		{"HTML entity", `<x>&nbsp;</x>`, Limits{}, "invalid character entity &nbsp;"},
		{"depth", strings.Repeat("<a>", 5) + strings.Repeat("</a>", 5), Limits{MaxDepth: 4}, "XML: line 1: nesting deeper than 4"},
		{"depth default", strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65), Limits{}, "nesting deeper than 64"},
		{"nodes", `<a><b/><b/><b/></a>`, Limits{MaxNodes: 3}, "XML: line 1: more than 3 nodes"},
		{"attributes count as nodes", `<a x="1" y="2" z="3"/>`, Limits{MaxNodes: 3}, "more than 3 nodes"},
		{"bytes", `<a>0123456789</a>`, Limits{MaxBytes: 10}, "XML: input of 17 bytes is larger than the limit of 10"},
		{"trailing garbage", `<a/>junk`, Limits{}, "XML: line 1: data after the root element"},
		{"trailing element", "<a/>\n<b/>", Limits{}, "XML: line 2: more than one root element"},
		{"two roots", `<a></a><a></a>`, Limits{}, "more than one root element"},
		{"text before root", `x<a/>`, Limits{}, "text before the root element"},
		{"no root", `<!-- only a comment -->`, Limits{}, "XML: no root element"},
		{"empty", ``, Limits{}, "XML: no root element"},
		{"bad charset", `<?xml version="1.0" encoding="ISO-8859-1"?><a>caf` + "\xe9" + `</a>`, Limits{}, `XML: line 1: encoding "ISO-8859-1" is not supported (only UTF-8)`},
		{"UTF-16 declared", `<?xml version="1.0" encoding="UTF-16"?><a/>`, Limits{}, `encoding "UTF-16" is not supported`},
		{"invalid UTF-8", "<a>\xff</a>", Limits{}, "invalid UTF-8"},
		{"mismatched", "<a>\n<b>\n</c></a>", Limits{}, "XML: line 3: element <b> closed by </c>"},
		{"unclosed", `<a><b>`, Limits{}, "XML: line 1: unexpected end of input inside <b>"},
		{"stray end", `</a>`, Limits{}, "unexpected end element </a>"},
		{"repeated attribute", `<a x="1" x="2"/>`, Limits{}, `attribute "x" repeated in <a>`},
		{"colon at start", `<:a/>`, Limits{}, `element name ":a" is not a valid qualified name`},
		{"digit after colon", `<a b:1="x"/>`, Limits{}, `attribute name "b:1" is not a valid qualified name`},
		{"two colons", `<a:b:c/>`, Limits{}, "XML: line 1:"},
		{"unquoted attribute", `<a x=1/>`, Limits{}, "unquoted or missing attribute value"},
		{"illegal character", `<a>&#1;</a>`, Limits{}, "illegal character code U+0001"},
		{"XML 1.1", `<?xml version="1.1"?><a/>`, Limits{}, "unsupported version"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := XMLToJSON([]byte(c.xml), c.lim)
			var e *Error
			if !errors.As(err, &e) || e.Format != XML {
				t.Fatalf("XMLToJSON(%q) error %v, want an XML *Error", c.xml, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("XMLToJSON(%q) error %q, want it to contain %q", c.xml, err, c.want)
			}
		})
	}
}

func TestXMLErrorQuotesLittle(t *testing.T) {
	long := strings.Repeat("n", 10000)
	for _, doc := range []string{
		"<" + long + "></x>",
		"<a>&" + long + ";</a>",
		"<a " + long + "/>",
		`<?xml version="1.0" encoding="` + long + `"?><a/>`,
	} {
		_, err := XMLToJSON([]byte(doc), Limits{})
		if err == nil || len(err.Error()) > 250 {
			t.Errorf("error for a long name: %d bytes: %.300v", len(err.Error()), err)
		}
	}
}

func TestXMLNodeLimitStopsEarly(t *testing.T) {
	// Many siblings past the limit: refused, by count, not by size.
	doc := "<a>" + strings.Repeat("<b/>", 50000) + "</a>"
	_, err := XMLToJSON([]byte(doc), Limits{MaxNodes: 1000})
	if err == nil || !strings.Contains(err.Error(), "more than 1000 nodes") {
		t.Fatalf("got %v", err)
	}
}

// TestJSONToXMLRules covers each rule of the mapping, JSON to XML.
func TestJSONToXMLRules(t *testing.T) {
	for _, c := range []struct{ name, json, root, xml string }{
		{"one key object is the root", `{"order":{"id":"1"}}`, "", `<order><id>1</id></order>`},
		{"one key string is the root", `{"a":"x"}`, "", `<a>x</a>`},
		{"several keys wrapped", `{"a":"1","b":"2"}`, "", `<root><a>1</a><b>2</b></root>`},
		{"root name", `{"a":"1","b":"2"}`, "doc", `<doc><a>1</a><b>2</b></doc>`},
		{"one key array wrapped", `{"i":["1","2"]}`, "l", `<l><i>1</i><i>2</i></l>`},
		{"attribute key alone wrapped", `{"@id":"1"}`, "", `<root id="1"/>`},
		{"top-level string", `"x"`, "", `<root>x</root>`},
		{"top-level number", `12`, "", `<root>12</root>`},
		{"top-level null", `null`, "", `<root/>`},
		{"empty object", `{}`, "", `<root/>`},
		{"attributes go to the start tag", `{"a":{"b":"x","@id":"1"}}`, "", `<a id="1"><b>x</b></a>`},
		{"text", `{"a":{"@id":"1","#text":"x"}}`, "", `<a id="1">x</a>`},
		{"text position kept", `{"p":{"b":"x","#text":"t","c":"y"}}`, "", `<p><b>x</b>t<c>y</c></p>`},
		{"array repeats", `{"l":{"i":["1",{"@n":"2"},"3"]}}`, "", `<l><i>1</i><i n="2"/><i>3</i></l>`},
		{"empty array writes nothing", `{"l":{"i":[],"j":"x"}}`, "", `<l><j>x</j></l>`},
		{"types as text", `{"a":{"n":-1.50e3,"t":true,"f":false,"z":null,"s":""}}`, "", `<a><n>-1.50e3</n><t>true</t><f>false</f><z/><s/></a>`},
		{"scalar attributes", `{"a":{"@n":1,"@b":true,"@z":null}}`, "", `<a n="1" b="true" z=""/>`},
		{"escaping", `{"a":{"@q":"\"<&>\t\n\r'","#text":"<&>\"'\t\n\r]]>"}}`, "", `<a q="&quot;&lt;&amp;&gt;&#x9;&#xA;&#xD;'">&lt;&amp;&gt;"'` + "\t\n" + `&#xD;]]&gt;</a>`},
		{"namespaces", `{"s:a":{"@xmlns:s":"urn:x","s:b":""}}`, "", `<s:a xmlns:s="urn:x"><s:b/></s:a>`},
		{"non-ASCII names", `{"日本":{"@語":"値"}}`, "", `<日本 語="値"/>`},
		{"key order kept", `{"a":{"z":"1","b":"2","m":"3"}}`, "", `<a><z>1</z><b>2</b><m>3</m></a>`},
		{"big number kept", `{"n":123456789012345678901234567890.123456789e-5}`, "", `<n>123456789012345678901234567890.123456789e-5</n>`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := JSONToXML([]byte(c.json), c.root, Limits{})
			if err != nil {
				t.Fatalf("JSONToXML(%s): %v", c.json, err)
			}
			want := xmlDeclaration + c.xml
			if string(got) != want {
				t.Fatalf("JSONToXML(%s)\n got %s\nwant %s", c.json, got, want)
			}
		})
	}
}

func TestJSONToXMLErrors(t *testing.T) {
	for _, c := range []struct {
		name, json, root string
		lim              Limits
		want             string
	}{
		{"invalid key", `{"a":{"1x":"v"}}`, "", Limits{}, `JSON: key "1x" is not a valid XML name`},
		{"invalid key with nothing to write", `{"a":{"1x":[]}}`, "", Limits{}, `JSON: key "1x" is not a valid XML name`},
		{"key with space", `{"a b":"v","c":"d"}`, "", Limits{}, `key "a b" is not a valid XML name`},
		{"empty key", `{"":"v"}`, "", Limits{}, `key "" is not a valid XML name`},
		{"two colons", `{"a:b:c":"v"}`, "", Limits{}, `not a valid XML name`},
		{"digit after colon", `{"a:1":"v"}`, "", Limits{}, `not a valid XML name`},
		{"other # key", `{"a":{"#comment":"v"}}`, "", Limits{}, `key "#comment" is not a valid XML name`},
		{"invalid attribute", `{"a":{"@1":"v"}}`, "", Limits{}, `key "@1" is not a valid XML attribute name`},
		{"bare @", `{"a":{"@":"v"}}`, "", Limits{}, `key "@" is not a valid XML attribute name`},
		{"object attribute", `{"a":{"@x":{}}}`, "", Limits{}, `attribute "@x" of <a> must be a string, number, boolean or null`},
		{"object text", `{"a":{"#text":[]}}`, "", Limits{}, `"#text" of <a> must be a string`},
		{"nested array", `{"a":{"b":[["x"]]}}`, "", Limits{}, `an array directly inside an array (under key "b") has no XML form`},
		{"top-level array", `[{"a":"1"}]`, "", Limits{}, `a top-level array has no XML form`},
		{"control character", `{"a":"x\u0000"}`, "", Limits{}, `a value in <a> contains U+0000, which XML cannot carry`},
		{"U+FFFF", `{"a":{"@b":"\uffff"}}`, "", Limits{}, `contains U+FFFF`},
		{"bad root", `{"a":"1","b":"2"}`, "1root", Limits{}, `XML: root element name "1root" is not a valid XML name`},
		{"duplicate key", `{"a":{"b":"1","b":"2"}}`, "", Limits{}, `JSON: offset 17: duplicate key "b"`},
		{"depth", `{"a":{"b":{"c":"d"}}}`, "", Limits{MaxDepth: 2}, `JSON: nesting deeper than 2`},
		{"depth arrays", `[[[[]]]]`, "", Limits{MaxDepth: 3}, `nesting deeper than 3`},
		{"nodes", `{"a":"1","b":"2"}`, "", Limits{MaxNodes: 4}, `JSON: more than 4 nodes`},
		{"bytes", `{"a":"1"}`, "", Limits{MaxBytes: 8}, `JSON: input of 9 bytes is larger than the limit of 8`},
		{"long number", `{"a":` + strings.Repeat("1", 101) + `}`, "", Limits{}, `a number literal longer than 100 characters`},
		{"syntax", `{"a":}`, "", Limits{}, `JSON: offset 5: invalid character '}' looking for beginning of value`},
		{"truncated", `{"a":"b"`, "", Limits{}, `JSON: unexpected end of input`},
		{"trailing value", `{"a":"b"} {}`, "", Limits{}, `data after the top-level value`},
		{"trailing garbage", `{"a":"b"}x`, "", Limits{}, `data after the top-level value`},
		{"empty", ``, "", Limits{}, `JSON: empty input`},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", "", Limits{}, `JSON: input is not valid UTF-8`},
		{"output bound", `{"r":{"` + strings.Repeat("k", 1000) + `":[` + strings.Repeat(`0,`, 1000) + `0]}}`, "", Limits{MaxBytes: 4000}, "XML: output would be larger than 64000 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := JSONToXML([]byte(c.json), c.root, c.lim)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("JSONToXML(%s) error %v, want an *Error", c.json, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("JSONToXML(%s) error %q, want it to contain %q", c.json, err, c.want)
			}
		})
	}
}

// TestTypesReadBackAsText: numbers and booleans survive JSON -> XML -> JSON
// as their text; null as "".
func TestTypesReadBackAsText(t *testing.T) {
	x, err := JSONToXML([]byte(`{"a":{"@n":1e3,"i":-0.50,"b":true,"z":null,"l":[1,2.0]}}`), "", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := XMLToJSON(x, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":{"@n":"1e3","i":"-0.50","b":"true","z":"","l":["1","2.0"]}}`; string(j) != want {
		t.Fatalf("got %s, want %s", j, want)
	}
}

// TestLossyRoundTrips pins down, one by one, what the documentation says
// does not survive.
func TestLossyRoundTrips(t *testing.T) {
	for _, c := range []struct{ name, in, out string }{
		{"one-item array reads back as the item", `{"l":{"i":["x"]}}`, `{"l":{"i":"x"}}`},
		{"empty array disappears", `{"l":{"i":[],"j":"x"}}`, `{"l":{"j":"x"}}`},
		{"null reads back as empty string", `{"l":{"z":null}}`, `{"l":{"z":""}}`},
		{"empty object reads back as empty string", `{"l":{"o":{}}}`, `{"l":{"o":""}}`},
		{"lone #text reads back as a string", `{"l":{"#text":"x"}}`, `{"l":"x"}`},
		{"empty #text disappears", `{"l":{"@a":"1","#text":""}}`, `{"l":{"@a":"1"}}`},
		{"whitespace #text beside children disappears", `{"l":{"#text":" ","b":"x"}}`, `{"l":{"b":"x"}}`},
		{"attributes move first", `{"l":{"b":"x","@a":"1"}}`, `{"l":{"@a":"1","b":"x"}}`},
		{"several keys come back wrapped", `{"a":"1","b":"2"}`, `{"root":{"a":"1","b":"2"}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, err := JSONToXML([]byte(c.in), "", Limits{})
			if err != nil {
				t.Fatal(err)
			}
			j, err := XMLToJSON(x, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if string(j) != c.out {
				t.Fatalf("%s -> %s -> %s, want %s", c.in, x, j, c.out)
			}
		})
	}
	// XML -> JSON -> XML: sibling interleaving and text position go.
	j, _ := XMLToJSON([]byte(`<l><a/>t<b/><a/>u</l>`), Limits{})
	x, _ := JSONToXML(j, "", Limits{})
	if want := xmlDeclaration + `<l><a/><a/>tu<b/></l>`; string(x) != want {
		t.Fatalf("got %s, want %s", x, want)
	}
}

func TestValidName(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"a", true}, {"_a", true}, {"a-b.c_9", true}, {"ns:a", true}, {"xmlns:ns", true},
		{"é", true}, {"日本語", true}, {"aé", true}, {"a:é", true},
		{"", false}, {"1a", false}, {"-a", false}, {".a", false}, {":a", false}, {"a:", false},
		{"a:b:c", false}, {"a b", false}, {"a>", false}, {"@a", false}, {"#text", false},
		{"a:1", false}, {"a:-", false}, {"\u0301a", false}, {"a\u0301", true}, {"😀", false},
	} {
		if got := validName(c.s); got != c.ok {
			t.Errorf("validName(%q) = %v, want %v", c.s, got, c.ok)
		}
		// Every name validName accepts, XMLToJSON reads back.
		if c.ok {
			doc := "<" + c.s + ` ` + c.s + `="v"/>`
			j, err := XMLToJSON([]byte(doc), Limits{})
			if err != nil {
				t.Errorf("XMLToJSON(%q): %v", doc, err)
			} else if !bytes.Contains(j, []byte(`"@`+c.s+`":"v"`)) {
				t.Errorf("XMLToJSON(%q) = %s", doc, j)
			}
		}
	}
}
