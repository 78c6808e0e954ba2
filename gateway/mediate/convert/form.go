package convert

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FormToJSON converts an application/x-www-form-urlencoded body, or a
// multipart/form-data body (contentType is the whole header value with its
// boundary), to a JSON object: one key per field name in order of first
// appearance, a string value for a field given once and an array of them
// for a field repeated. A multipart file part (one with a filename) is an
// object {"filename", "content_type", "size", "data" (base64)}. Every field
// or part counts as a node against MaxNodes.
func FormToJSON(data []byte, contentType string, lim Limits) ([]byte, error) {
	lim = lim.withDefaults()
	switch f := FormatOf(contentType); f {
	case Form:
		if err := lim.checkSize(Form, data); err != nil {
			return nil, err
		}
		// Escaped bytes are read as UTF-8; a body declared in another
		// charset would be misread, so it is refused, as XML's is.
		if _, params, _ := mime.ParseMediaType(contentType); params["charset"] != "" && !utf8Charset(params["charset"]) {
			return nil, errorf(Form, "charset %s is not supported (only UTF-8)", excerpt(params["charset"]))
		}
		return urlencodedToJSON(data, lim)
	case Multipart:
		if err := lim.checkSize(Multipart, data); err != nil {
			return nil, err
		}
		return multipartToJSON(data, contentType, lim)
	default:
		return nil, errorf(Form, "Content-Type %s is not a form", excerpt(contentType))
	}
}

// formValue is one field's value: a string, or (multipart) a file object
// already written as JSON.
type formValue struct {
	s    string
	file []byte
}

// formObject collects fields by name in order of first appearance.
type formObject struct {
	f     Format
	names []string
	vals  [][]formValue
	index map[string]int
	lim   Limits
	count int
}

func (o *formObject) add(name string, v formValue) error {
	o.count++
	if o.count > o.lim.MaxNodes {
		return errorf(o.f, "more than %d fields", o.lim.MaxNodes)
	}
	if o.index == nil {
		o.index = make(map[string]int)
	}
	if i, ok := o.index[name]; ok {
		o.vals[i] = append(o.vals[i], v)
		return nil
	}
	o.index[name] = len(o.names)
	o.names = append(o.names, name)
	o.vals = append(o.vals, []formValue{v})
	return nil
}

func (o *formObject) json() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range o.names {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, name)
		b.WriteByte(':')
		vs := o.vals[i]
		if len(vs) > 1 {
			b.WriteByte('[')
		}
		for j, v := range vs {
			if j > 0 {
				b.WriteByte(',')
			}
			if v.file != nil {
				b.Write(v.file)
			} else {
				writeJSONString(&b, v.s)
			}
		}
		if len(vs) > 1 {
			b.WriteByte(']')
		}
		if int64(b.Len()) > o.lim.maxOutput() {
			return nil, errorf(o.f, "output would be larger than %d bytes", o.lim.maxOutput())
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// urlencodedToJSON parses the body itself rather than with url.ParseQuery,
// which returns a map (losing the order) and takes ';' as an error. Pairs
// are separated by '&' only; an empty pair is skipped; a pair without '='
// is a name with an empty value.
func urlencodedToJSON(data []byte, lim Limits) ([]byte, error) {
	o := formObject{f: Form, lim: lim}
	s := string(data)
	for n := 1; s != ""; n++ {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, escapeError(err)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, escapeError(err)
		}
		if !utf8.ValidString(key) || !utf8.ValidString(val) {
			return nil, errorf(Form, "pair %d is not valid UTF-8 once unescaped", n)
		}
		if err := o.add(key, formValue{s: val}); err != nil {
			return nil, err
		}
	}
	return o.json()
}

// escapeError passes on url's message, `invalid URL escape "%zz"`, which
// quotes at most three bytes of the input.
func escapeError(err error) error {
	var ee url.EscapeError
	if errors.As(err, &ee) {
		return errorf(Form, "%s", clip(ee.Error(), 40))
	}
	return errorf(Form, "%s", foreignMessage(err))
}

// multipartToJSON reads every part of a multipart/form-data body.
func multipartToJSON(data []byte, contentType string, lim Limits) ([]byte, error) {
	// On ErrInvalidMediaParameter params is nil: no usable boundary.
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil && err != mime.ErrInvalidMediaParameter || mt != "multipart/form-data" {
		return nil, errorf(Multipart, "Content-Type %s is not multipart/form-data", excerpt(contentType))
	}
	boundary := params["boundary"]
	if boundary == "" {
		return nil, errorf(Multipart, "Content-Type has no boundary")
	}
	o := formObject{f: Multipart, lim: lim}
	mr := multipart.NewReader(bytes.NewReader(data), boundary)
	for n := 1; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errorf(Multipart, "part %d: body ends before the closing boundary", n)
		}
		if err != nil {
			return nil, errorf(Multipart, "part %d: %s", n, foreignMessage(err))
		}
		// The node limit is checked before the part is read, so a body of
		// many tiny parts stops at the limit.
		if o.count >= lim.MaxNodes {
			return nil, errorf(Multipart, "more than %d parts", lim.MaxNodes)
		}
		v, name, err := readPart(p, n)
		if err != nil {
			return nil, err
		}
		if err := o.add(name, v); err != nil {
			return nil, err
		}
	}
	return o.json()
}

// readPart reads one part: a field (a UTF-8 string) or a file (any bytes,
// as base64). The whole body is within MaxBytes, so the part is too.
func readPart(p *multipart.Part, n int) (formValue, string, error) {
	name := p.FormName()
	if name == "" {
		return formValue{}, "", errorf(Multipart, "part %d has no form-data name", n)
	}
	if !utf8.ValidString(name) {
		return formValue{}, "", errorf(Multipart, "part %d: name is not valid UTF-8", n)
	}
	body, err := io.ReadAll(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return formValue{}, "", errorf(Multipart, "part %d: body ends before the closing boundary", n)
	}
	if err != nil {
		return formValue{}, "", errorf(Multipart, "part %d: %s", n, foreignMessage(err))
	}
	// A part is a file when its Content-Disposition has a filename
	// parameter at all: browsers send filename="" for an empty file input.
	_, disp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if _, isFile := disp["filename"]; !isFile {
		if !utf8.Valid(body) {
			return formValue{}, "", errorf(Multipart, "field %s is not valid UTF-8 (send binary data as a file part)", excerpt(name))
		}
		return formValue{s: string(body)}, name, nil
	}
	ct := p.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/plain" // RFC 7578 §4.4
	}
	filename := p.FileName() // without directories (RFC 7578 §4.2)
	if !utf8.ValidString(filename) || !utf8.ValidString(ct) {
		return formValue{}, "", errorf(Multipart, "part %d: filename or Content-Type is not valid UTF-8", n)
	}
	var b bytes.Buffer
	b.Grow(base64.StdEncoding.EncodedLen(len(body)) + len(filename) + len(ct) + 64)
	b.WriteString(`{"filename":`)
	writeJSONString(&b, filename)
	b.WriteString(`,"content_type":`)
	writeJSONString(&b, ct)
	b.WriteString(`,"size":`)
	b.WriteString(strconv.Itoa(len(body)))
	b.WriteString(`,"data":"`)
	b.WriteString(base64.StdEncoding.EncodeToString(body))
	b.WriteString(`"}`)
	return formValue{file: b.Bytes()}, name, nil
}

// JSONToForm converts a flat JSON object to an urlencoded form, keys in
// order: a string, number or boolean is the value's text, null an empty
// value, and an array of those one pair per item (a repeated key). A nested
// object or array, or a top-level value that is not an object, is an error.
func JSONToForm(data []byte, lim Limits) ([]byte, error) {
	lim = lim.withDefaults()
	v, err := decodeJSON(data, lim)
	if err != nil {
		return nil, err
	}
	if v.kind != jObject {
		return nil, errorf(JSON, "a form is made from an object, not a top-level %s", kindName(v.kind))
	}
	var b bytes.Buffer
	pair := func(k, s string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(s))
	}
	for i, k := range v.keys {
		val := v.vals[i]
		switch {
		case val.scalar():
			pair(k, val.s)
		case val.kind == jArray:
			for _, item := range val.vals {
				if !item.scalar() {
					return nil, errorf(JSON, "key %s: a form value cannot be a nested %s", excerpt(k), kindName(item.kind))
				}
				pair(k, item.s)
			}
		default:
			return nil, errorf(JSON, "key %s: a form value cannot be a nested object", excerpt(k))
		}
		if int64(b.Len()) > lim.maxOutput() {
			return nil, errorf(Form, "output would be larger than %d bytes", lim.maxOutput())
		}
	}
	return b.Bytes(), nil
}

func kindName(k jkind) string {
	switch k {
	case jString:
		return "string"
	case jNumber:
		return "number"
	case jBool:
		return "boolean"
	case jNull:
		return "null"
	case jObject:
		return "object"
	}
	return "array"
}
