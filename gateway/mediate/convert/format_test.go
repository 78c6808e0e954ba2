package convert

import (
	"errors"
	"testing"
)

func TestFormatOf(t *testing.T) {
	for _, c := range []struct {
		ct   string
		want Format
	}{
		{"", Binary},
		{"garbage", Binary},
		{"/json", Binary},
		{"application/json", JSON},
		{"Application/JSON; charset=utf-8", JSON},
		{"application/problem+json", JSON},
		{"application/vnd.api+json; ext=x", JSON},
		{"application/+json", Binary},
		{"text/json", Binary},
		{"application/json; charset", JSON}, // broken parameter: the type still decides
		{"application/xml", XML},
		{"text/xml; charset=utf-8", XML},
		{"application/atom+xml", XML},
		{"image/svg+xml", Binary},
		{"application/x-www-form-urlencoded", Form},
		{"multipart/form-data; boundary=x", Multipart},
		{"multipart/mixed; boundary=x", Binary},
		{"application/protobuf", Protobuf},
		{"application/x-protobuf", Protobuf},
		{"application/vnd.google.protobuf", Protobuf},
		{"application/octet-stream", Binary},
		{"text/html", Binary},
	} {
		if got := FormatOf(c.ct); got != c.want {
			t.Errorf("FormatOf(%q) = %v, want %v", c.ct, got, c.want)
		}
	}
}

func TestFormatStringAndContentType(t *testing.T) {
	for _, c := range []struct {
		f        Format
		name, ct string
	}{
		{Binary, "binary", "application/octet-stream"},
		{JSON, "json", "application/json"},
		{XML, "xml", "application/xml; charset=utf-8"},
		{Form, "form", "application/x-www-form-urlencoded"},
		{Multipart, "multipart", "multipart/form-data"},
		{Protobuf, "protobuf", "application/x-protobuf"},
		{Format(42), "Format(42)", "application/octet-stream"},
	} {
		if got := c.f.String(); got != c.name {
			t.Errorf("%d.String() = %q, want %q", int(c.f), got, c.name)
		}
		if got := ContentType(c.f); got != c.ct {
			t.Errorf("ContentType(%v) = %q, want %q", c.f, got, c.ct)
		}
		// The canonical Content-Type reads back as the same format.
		if c.f <= Protobuf {
			if got := FormatOf(ContentType(c.f)); got != c.f {
				t.Errorf("FormatOf(ContentType(%v)) = %v", c.f, got)
			}
		}
	}
}

func TestErrorText(t *testing.T) {
	for _, c := range []struct {
		e    *Error
		want string
	}{
		{&Error{XML, "line 3: element <b> closed by </c>"}, "XML: line 3: element <b> closed by </c>"},
		{&Error{JSON, "x"}, "JSON: x"},
		{&Error{Form, `invalid URL escape "%zz"`}, `form: invalid URL escape "%zz"`},
		{&Error{Multipart, "y"}, "multipart: y"},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	var e *Error
	if _, err := XMLToJSON([]byte("<a>"), Limits{}); !errors.As(err, &e) || e.Format != XML {
		t.Errorf("XMLToJSON error %v is not an *Error for XML", err)
	}
}

func TestExcerptIsShortAndValid(t *testing.T) {
	long := string([]byte{0xff}) + "é" + string(make([]byte, 500))
	got := excerpt(long)
	if len(got) > 4*maxExcerpt+10 { // \x00 quotes as four bytes
		t.Errorf("excerpt is %d bytes", len(got))
	}
	if got := clip("ééééé", 3); got != "é…" {
		t.Errorf("clip cut inside a rune: %q", got)
	}
}

func TestLimitsDefaults(t *testing.T) {
	if got := (Limits{}).withDefaults(); got != DefaultLimits {
		t.Errorf("zero Limits = %+v", got)
	}
	if got := (Limits{MaxDepth: -1, MaxNodes: 5}).withDefaults(); got.MaxDepth != 64 || got.MaxNodes != 5 || got.MaxBytes != 4<<20 {
		t.Errorf("got %+v", got)
	}
}
