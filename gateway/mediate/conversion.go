package mediate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/raygate/raygate/gateway/mediate/convert"
)

// errNoMessage is a protobuf conversion on a policy without a message.
var errNoMessage = errors.New("protobuf conversion needs convert.proto and convert.message")

// formatNamed maps a Convert.To to a format.
func formatNamed(to string) convert.Format {
	switch to {
	case "json":
		return convert.JSON
	case "xml":
		return convert.XML
	case "protobuf":
		return convert.Protobuf
	}
	return convert.Binary
}

// offered lists the formats an "accept" conversion may answer with, the
// first being the default.
func (cv *converter) offered() []convert.Format {
	if cv.message != nil {
		return []convert.Format{convert.JSON, convert.XML, convert.Protobuf}
	}
	return []convert.Format{convert.JSON, convert.XML}
}

// run converts body from one format to another, through JSON, the hub
// every converter speaks. Binary, and anything to itself, is untouched;
// contentType is the source's whole header (multipart needs its boundary).
func (cv *converter) run(body []byte, from, to convert.Format, contentType string, max int64) ([]byte, error) {
	if from == to || from == convert.Binary || to == convert.Binary {
		return body, nil
	}
	lim := convertLimits(max)
	var js []byte
	var err error
	switch from {
	case convert.JSON:
		js = body
	case convert.XML:
		if js, err = convert.XMLToJSON(body, lim); err == nil {
			js, err = unwrapRoot(js)
		}
	case convert.Form, convert.Multipart:
		js, err = convert.FormToJSON(body, contentType, lim)
	case convert.Protobuf:
		if cv.message == nil {
			return nil, errNoMessage
		}
		js, err = cv.message.ToJSON(body, protoLimits(max))
	}
	if err != nil {
		return nil, err
	}
	switch to {
	case convert.JSON:
		if from == convert.JSON {
			return body, nil
		}
		return js, nil
	case convert.XML:
		return convert.JSONToXML(wrapRoot(js, cv.root), cv.root, lim)
	case convert.Form:
		return convert.JSONToForm(js, lim)
	case convert.Protobuf:
		if cv.message == nil {
			return nil, errNoMessage
		}
		return cv.message.FromJSON(js, protoLimits(max))
	}
	return body, nil
}

// The gateway's XML documents are unwrapped: the root element's content is
// the JSON document (an order's fields, not {"order": {...}}), so that one
// schema and one backend serve JSON and XML clients alike; the other way,
// JSON is written inside the xml_root element. XML -> JSON -> XML keeps the
// document when xml_root names its root element.

// unwrapRoot takes the one member of the converter's {"root": value}.
func unwrapRoot(js []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil || len(m) != 1 {
		return nil, fmt.Errorf("XML: the document has no single root element")
	}
	for _, v := range m {
		return v, nil
	}
	return nil, nil
}

// wrapRoot puts a JSON document under the root element's name (a valid
// XML name, checked by the configuration).
func wrapRoot(js []byte, root string) []byte {
	var b bytes.Buffer
	b.Grow(len(js) + len(root) + 6)
	b.WriteString(`{"`)
	b.WriteString(root)
	b.WriteString(`":`)
	b.Write(bytes.TrimSpace(js))
	b.WriteByte('}')
	return b.Bytes()
}
