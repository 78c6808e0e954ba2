package convert

import (
	"fmt"
	"mime"
	"strings"
)

// Format is a message format, from a Content-Type.
type Format int

const (
	Binary    Format = iota // anything not recognised: passed through untouched
	JSON                    // application/json, application/*+json
	XML                     // application/xml, text/xml, application/*+xml
	Form                    // application/x-www-form-urlencoded
	Multipart               // multipart/form-data
	Protobuf                // application/protobuf, application/x-protobuf, application/vnd.google.protobuf
)

var formatNames = [...]string{
	Binary:    "binary",
	JSON:      "json",
	XML:       "xml",
	Form:      "form",
	Multipart: "multipart",
	Protobuf:  "protobuf",
}

// String returns the format's lower-case token: "binary", "json", "xml",
// "form", "multipart" or "protobuf".
func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// FormatOf parses a Content-Type header value. Parameters are ignored (the
// multipart converter reads the boundary from the whole value itself); a
// value whose parameters are malformed still counts by its media type, since
// only the type decides the format. An empty or unparsable value is Binary.
func FormatOf(contentType string) Format {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && err != mime.ErrInvalidMediaParameter {
		return Binary
	}
	return formatOfMediaType(mt)
}

// formatOfMediaType classifies a lower-case "type/subtype".
func formatOfMediaType(mt string) Format {
	switch mt {
	case "application/json":
		return JSON
	case "application/xml", "text/xml":
		return XML
	case "application/x-www-form-urlencoded":
		return Form
	case "multipart/form-data":
		return Multipart
	case "application/protobuf", "application/x-protobuf", "application/vnd.google.protobuf":
		return Protobuf
	}
	if sub, ok := strings.CutPrefix(mt, "application/"); ok {
		// Structured syntax suffixes (RFC 6839): application/problem+json,
		// application/atom+xml. A bare "+json" has no name before the suffix.
		switch {
		case len(sub) > len("+json") && strings.HasSuffix(sub, "+json"):
			return JSON
		case len(sub) > len("+xml") && strings.HasSuffix(sub, "+xml"):
			return XML
		}
	}
	return Binary
}

// ContentType returns the canonical Content-Type for a format. Multipart
// gives "multipart/form-data" without a boundary: whoever writes a
// multipart body must add its own.
func ContentType(f Format) string {
	switch f {
	case JSON:
		return "application/json"
	case XML:
		return "application/xml; charset=utf-8"
	case Form:
		return "application/x-www-form-urlencoded"
	case Multipart:
		return "multipart/form-data"
	case Protobuf:
		return "application/x-protobuf"
	}
	return "application/octet-stream"
}

// mediaTypes lists the media types a format answers to in content
// negotiation, the one ContentType sends first.
func mediaTypes(f Format) []string {
	switch f {
	case JSON:
		return []string{"application/json"}
	case XML:
		return []string{"application/xml", "text/xml"}
	case Form:
		return []string{"application/x-www-form-urlencoded"}
	case Multipart:
		return []string{"multipart/form-data"}
	case Protobuf:
		return []string{"application/x-protobuf", "application/protobuf", "application/vnd.google.protobuf"}
	}
	return []string{"application/octet-stream"}
}
