package convert

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
)

const urlencoded = "application/x-www-form-urlencoded"

func TestFormToJSONURLEncoded(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `{}`},
		{"a=1", `{"a":"1"}`},
		{"a=1&b=x&b=y", `{"a":"1","b":["x","y"]}`},
		{"b=1&a=2&b=3&c=4", `{"b":["1","3"],"a":"2","c":"4"}`},
		{"a=x+y%20z&%C3%A9=%E6%97%A5", `{"a":"x y z","é":"日"}`},
		{"a;b=1;2", `{"a;b":"1;2"}`},
		{"a&&b=&=c", `{"a":"","b":"","":"c"}`},
		{"k=a=b", `{"k":"a=b"}`},
		{"q=%22%5C%0A%00", `{"q":"\"\\\n\u0000"}`},
		{"a=1&a=2&a=3", `{"a":["1","2","3"]}`},
	} {
		got, err := FormToJSON([]byte(c.in), urlencoded, Limits{})
		if err != nil {
			t.Errorf("FormToJSON(%q): %v", c.in, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("FormToJSON(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestFormToJSONErrors(t *testing.T) {
	for _, c := range []struct {
		in, ct string
		lim    Limits
		want   string
	}{
		{"a=%zz", urlencoded, Limits{}, `form: invalid URL escape "%zz"`},
		{"%g=1", urlencoded, Limits{}, `form: invalid URL escape "%g"`},
		{"a=1&b=%", urlencoded, Limits{}, `form: invalid URL escape "%"`},
		{"a=%ff", urlencoded, Limits{}, `form: pair 1 is not valid UTF-8 once unescaped`},
		{"a=1&b=2&c=3", urlencoded, Limits{MaxNodes: 2}, `form: more than 2 fields`},
		{"a=0123456789", urlencoded, Limits{MaxBytes: 5}, `form: input of 12 bytes is larger than the limit of 5`},
		{"a=1", "text/plain", Limits{}, `form: Content-Type "text/plain" is not a form`},
		{"a=1", "", Limits{}, `form: Content-Type "" is not a form`},
		{"a=1", urlencoded + "; charset=iso-8859-1", Limits{}, `form: charset "iso-8859-1" is not supported (only UTF-8)`},
		{"", "multipart/form-data; boundary=x", Limits{}, `multipart: part 1: body ends before the closing boundary`},
		{"--x--", "multipart/form-data", Limits{}, `multipart: Content-Type has no boundary`},
		{"--x--", "multipart/form-data; boundary=", Limits{}, `multipart: Content-Type has no boundary`},
		{"--x--", "multipart/form-data; boundary=x; boundary=y", Limits{}, `form: Content-Type`},
	} {
		_, err := FormToJSON([]byte(c.in), c.ct, c.lim)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FormToJSON(%q, %q) error %v, want %q", c.in, c.ct, err, c.want)
		}
	}
}

type part struct {
	name, filename, ct, body string
	noDisposition            bool
}

func multipartBody(t testing.TB, parts ...part) ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		switch {
		case p.noDisposition:
		case p.filename != "" || p.ct != "":
			h.Set("Content-Disposition", `form-data; name="`+p.name+`"; filename="`+p.filename+`"`)
		default:
			h.Set("Content-Disposition", `form-data; name="`+p.name+`"`)
		}
		if p.ct != "" {
			h.Set("Content-Type", p.ct)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(p.body))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), w.FormDataContentType()
}

func TestFormToJSONMultipart(t *testing.T) {
	bin := "\x00\xff\x10binary"
	body, ct := multipartBody(t,
		part{name: "a", body: "1"},
		part{name: "f", filename: "dir/photo.png", ct: "image/png", body: bin},
		part{name: "b", body: "x"},
		part{name: "a", body: "2\r\nline"},
		part{name: "empty", filename: "", ct: "application/octet-stream"},
		part{name: "t", filename: "notes.txt", ct: "", body: "é"},
	)
	// "empty" has filename="" (what a browser sends for an empty file
	// input): still a file.
	got, err := FormToJSON(body, ct, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":["1","2\r\nline"],` +
		`"f":{"filename":"photo.png","content_type":"image/png","size":9,"data":"` + base64.StdEncoding.EncodeToString([]byte(bin)) + `"},` +
		`"b":"x",` +
		`"empty":{"filename":"","content_type":"application/octet-stream","size":0,"data":""},` +
		`"t":{"filename":"notes.txt","content_type":"text/plain","size":2,"data":"w6k="}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestFormToJSONMultipartErrors(t *testing.T) {
	ok, ct := multipartBody(t, part{name: "a", body: "1"}, part{name: "b", body: "2"}, part{name: "c", body: "3"})
	noName, ctNoName := multipartBody(t, part{noDisposition: true, body: "1"})
	binField, ctBin := multipartBody(t, part{name: "a", body: "\xff"})
	for _, c := range []struct {
		body []byte
		ct   string
		lim  Limits
		want string
	}{
		{ok, ct, Limits{MaxNodes: 2}, "multipart: more than 2 parts"},
		{ok, ct, Limits{MaxBytes: 50}, "multipart: input of"},
		{ok[:len(ok)-10], ct, Limits{}, "multipart: part 3: body ends before the closing boundary"},
		{noName, ctNoName, Limits{}, "multipart: part 1 has no form-data name"},
		{binField, ctBin, Limits{}, `multipart: field "a" is not valid UTF-8 (send binary data as a file part)`},
		{[]byte("garbage"), "multipart/form-data; boundary=zz", Limits{}, "multipart: part 1:"},
		{ok, "multipart/form-data; boundary=other", Limits{}, "multipart: part 1:"},
	} {
		_, err := FormToJSON(c.body, c.ct, c.lim)
		var e *Error
		if !errors.As(err, &e) || e.Format != Multipart || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FormToJSON(%.40q) error %v, want %q", c.body, err, c.want)
		}
	}
}

func TestJSONToForm(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{}`, ``},
		{`{"a":"1","b":["x","y"]}`, `a=1&b=x&b=y`},
		{`{"z":1.50,"t":true,"n":null,"e":[]}`, `z=1.50&t=true&n=`},
		{`{"a b":"x&y=z;w","é":"日"}`, `a+b=x%26y%3Dz%3Bw&%C3%A9=%E6%97%A5`},
		{`{"l":[1,"x",null,false]}`, `l=1&l=x&l=&l=false`},
	} {
		got, err := JSONToForm([]byte(c.in), Limits{})
		if err != nil {
			t.Errorf("JSONToForm(%s): %v", c.in, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("JSONToForm(%s) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{`{"a":{"b":"c"}}`, `JSON: key "a": a form value cannot be a nested object`},
		{`{"a":[["x"]]}`, `JSON: key "a": a form value cannot be a nested array`},
		{`{"a":[{}]}`, `a form value cannot be a nested object`},
		{`["a"]`, `JSON: a form is made from an object, not a top-level array`},
		{`"a"`, `not a top-level string`},
		{`{"a":"1","a":"2"}`, `duplicate key "a"`},
		{`{"a":`, `JSON: unexpected end of input`},
	} {
		_, err := JSONToForm([]byte(c.in), Limits{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("JSONToForm(%s) error %v, want %q", c.in, err, c.want)
		}
	}
}

// TestFormRoundTrip: FormToJSON(JSONToForm(j)) == j for flat objects of
// strings and arrays of two or more strings, and the form written back
// from a parsed form parses the same.
func TestFormRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	pieces := []string{"", "a", "b c", "&", "=", ";", "+", "%", "é", "日本", "\n", "\x00", "😀", `"`}
	str := func() string {
		var s strings.Builder
		for n := r.Intn(3); n > 0; n-- {
			s.WriteString(pieces[r.Intn(len(pieces))])
		}
		return s.String()
	}
	for i := 0; i < 500; i++ {
		var b bytes.Buffer
		b.WriteByte('{')
		used := map[string]bool{}
		for k, n := 0, r.Intn(5); k < n; k++ {
			key := str()
			if used[key] {
				continue
			}
			used[key] = true
			if b.Len() > 1 {
				b.WriteByte(',')
			}
			writeJSONString(&b, key)
			b.WriteByte(':')
			if r.Intn(2) == 0 {
				writeJSONString(&b, str())
				continue
			}
			b.WriteByte('[')
			for j, m := 0, 2+r.Intn(3); j < m; j++ {
				if j > 0 {
					b.WriteByte(',')
				}
				writeJSONString(&b, str())
			}
			b.WriteByte(']')
		}
		b.WriteByte('}')
		j := b.Bytes()
		form, err := JSONToForm(j, Limits{})
		if err != nil {
			t.Fatalf("JSONToForm(%s): %v", j, err)
		}
		back, err := FormToJSON(form, urlencoded, Limits{})
		if err != nil {
			t.Fatalf("FormToJSON(%s): %v", form, err)
		}
		if !bytes.Equal(back, j) {
			t.Fatalf("round trip: %s -> %s -> %s", j, form, back)
		}
	}
}

func TestFormCharsetAccepted(t *testing.T) {
	for _, ct := range []string{urlencoded + "; charset=UTF-8", urlencoded + "; charset=utf-8", urlencoded + "; charset=us-ascii"} {
		if got, err := FormToJSON([]byte("a=%C3%A9"), ct, Limits{}); err != nil || string(got) != `{"a":"é"}` {
			t.Errorf("%s: %s, %v", ct, got, err)
		}
	}
}
