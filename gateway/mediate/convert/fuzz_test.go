package convert

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// fuzzLimits are small, so the fuzzer reaches the limits; wideLimits leave
// room for the other form of a document that passed fuzzLimits (its JSON
// form can be deeper and have more nodes than its XML form).
var (
	fuzzLimits = Limits{MaxDepth: 24, MaxNodes: 2000, MaxBytes: 1 << 16}
	wideLimits = Limits{MaxDepth: 4*24 + 4, MaxNodes: 4 * 2000, MaxBytes: 1 << 22}
)

// checkError: every failure is an *Error whose message is short and
// printable, whatever the input.
func checkError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if msg := err.Error(); e.Msg == "" || len(msg) > 400 || !utf8.ValidString(msg) {
		t.Fatalf("bad error message (%d bytes): %q", len(msg), msg)
	}
}

// wellFormed checks XML with encoding/xml's own Token, which matches start
// and end tags itself: a second opinion on what XMLToJSON accepts.
func wellFormed(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func FuzzXMLToJSON(f *testing.F) {
	for _, s := range []string{
		`<a/>`,
		`<order id="7"><item>a</item><item>b</item><note>hi</note></order>`,
		"<?xml version=\"1.0\"?>\n<l>\n  <i>1</i>\n  <i>2</i>\n</l>\n<!-- c -->",
		`<p>Hello <b>w</b> again<b/>!</p>`,
		`<s:a xmlns:s="urn:x" s:k="v"><s:b/></s:a>`,
		`<a t="&quot;&#9;">&lt;&#xD;<![CDATA[x]]></a>`,
		`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`,
		`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`,
		`<a x="1" x="2"/>`,
		`<a/><b/>`,
		`<a><b></c></a>`,
		`<日本 語="値">é</日本>`,
		"\xef\xbb\xbf<a>x</a>",
		`<a b:1="x"/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := XMLToJSON(data, fuzzLimits)
		if err != nil {
			checkError(t, err)
			return
		}
		if !json.Valid(j) {
			t.Fatalf("invalid JSON %q from %q", j, data)
		}
		if err := wellFormed(data); err != nil {
			t.Fatalf("accepted %q, which encoding/xml refuses: %v", data, err)
		}
		x, err := JSONToXML(j, "", wideLimits)
		if err != nil {
			t.Fatalf("JSONToXML(%s) (from %q): %v", j, data, err)
		}
		j2, err := XMLToJSON(x, wideLimits)
		if err != nil {
			t.Fatalf("XMLToJSON(%q) (from %q): %v", x, data, err)
		}
		if !bytes.Equal(j, j2) {
			t.Fatalf("not a fixed point:\n  xml %q\n json %s\n xml2 %q\njson2 %s", data, j, x, j2)
		}
	})
}

func FuzzJSONToXML(f *testing.F) {
	for _, s := range []string{
		`{"order":{"@id":"7","item":["a",{"@n":"2","#text":"b"}],"note":"x"}}`,
		`{"a":"1","b":[1,2.5e3,true,false,null]}`,
		`{"p":{"b":"x","#text":" t ","c":{}}}`,
		`[1]`, `"x"`, `null`, `{}`, `{"a":[[1]]}`, `{"1a":1}`, `{"a":"\u0000"}`, `{"a":1,"a":2}`,
		`{"s:a":{"@xmlns:s":"urn:x"}}`, `{"a":{"@b":{}}}`, `{"a":"\r\n\t<&>\"'"}`, `{"日本":{"@語":"値"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := JSONToXML(data, "root", fuzzLimits)
		if err != nil {
			checkError(t, err)
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		if err := wellFormed(x); err != nil {
			t.Fatalf("JSONToXML(%q) wrote malformed XML %q: %v", data, x, err)
		}
		j, err := XMLToJSON(x, wideLimits)
		if err != nil {
			t.Fatalf("XMLToJSON(%q) (from %q): %v", x, data, err)
		}
		if !json.Valid(j) {
			t.Fatalf("invalid JSON %q", j)
		}
		x2, err := JSONToXML(j, "root", wideLimits)
		if err != nil {
			t.Fatalf("JSONToXML(%s): %v", j, err)
		}
		j2, err := XMLToJSON(x2, wideLimits)
		if err != nil || !bytes.Equal(j, j2) {
			t.Fatalf("not a fixed point: %q -> %s -> %q -> %s (%v)", data, j, x2, j2, err)
		}
	})
}

// fuzzBoundary is the boundary of the multipart bodies FuzzFormToJSON reads.
const fuzzBoundary = "XyZ"

func FuzzFormToJSON(f *testing.F) {
	for _, s := range []string{"a=1&b=x&b=y", "", "a", "=", "&&", "a=%zz", "a=%ff", "k=a+b%20c;d", "%C3%A9=1&%C3%A9=2"} {
		f.Add(byte(0), []byte(s))
	}
	mp := "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\xff\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--XyZ--\r\n"
	for _, s := range []string{mp, "--XyZ--\r\n", "", "--XyZ\r\n\r\nno name\r\n--XyZ--", "--XyZ\r\nContent-Disposition: form-data; name=\"q\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\r\n--XyZ--"} {
		f.Add(byte(1), []byte(s))
	}
	f.Fuzz(func(t *testing.T, flag byte, data []byte) {
		ct := urlencoded
		if flag&1 == 1 {
			ct = "multipart/form-data; boundary=" + fuzzBoundary
		}
		j, err := FormToJSON(data, ct, fuzzLimits)
		if err != nil {
			checkError(t, err)
			return
		}
		if !json.Valid(j) {
			t.Fatalf("invalid JSON %q from %q", j, data)
		}
		if flag&1 == 1 {
			return // file parts have no form of their own
		}
		form, err := JSONToForm(j, wideLimits)
		if err != nil {
			t.Fatalf("JSONToForm(%s): %v", j, err)
		}
		j2, err := FormToJSON(form, urlencoded, wideLimits)
		if err != nil || !bytes.Equal(j, j2) {
			t.Fatalf("not a fixed point: %q -> %s -> %q -> %s (%v)", data, j, form, j2, err)
		}
	})
}
