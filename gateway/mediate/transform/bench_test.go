package transform

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/raygate/raygate/gateway/config"
)

// BenchmarkApply is a typical request list: two header steps, one query
// step and two body steps on a body of about 1 KB. Each iteration builds
// its message (a header map and a URL, 3 allocations) as a caller would.
func BenchmarkApply(b *testing.B) {
	l, err := Compile([]config.Transform{
		{Op: "header.set", Name: "X-Env", Value: "prod"},
		{Op: "header.add", Name: "X-User", Value: "{identity.subject}"},
		{Op: "query.set", Name: "page", Value: "{query.page}"},
		{Op: "body.set", Name: "/meta/source", Value: "gateway"},
		{Op: "body.remove", Name: "/customer/ssn"},
	}, false)
	if err != nil {
		b.Fatal(err)
	}
	body := benchBody()
	env := &Env{Subject: "u1", Query: url.Values{"page": {"2"}}, Header: http.Header{}}
	b.ReportMetric(float64(len(body)), "body-bytes")
	b.ReportAllocs()
	for b.Loop() {
		m := &Message{
			Header: http.Header{"Accept": {"application/json"}},
			URL:    &url.URL{Path: "/orders", RawQuery: "page=1&sort=date"},
			Body:   body, JSON: true,
		}
		if _, err := l.Apply(m, env); err != nil || !m.BodyChanged {
			b.Fatal(err)
		}
	}
}

// parseWithDecoder is the json.Decoder.Token parser parseJSON replaced,
// kept as the other half of BenchmarkParse and as a second opinion in
// FuzzApply.
func parseWithDecoder(b []byte) (jvalue, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return jvalue{}, errNotJSON
	}
	v, err := decodeValue(dec, tok, 0)
	if err != nil {
		return jvalue{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jvalue{}, errNotJSON
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, tok json.Token, depth int) (jvalue, error) {
	switch t := tok.(type) {
	case nil:
		return jvalue{kind: jNull}, nil
	case bool:
		if t {
			return jvalue{kind: jTrue}, nil
		}
		return jvalue{kind: jFalse}, nil
	case json.Number:
		return jvalue{kind: jNumber, str: string(t)}, nil
	case string:
		return jvalue{kind: jString, str: t}, nil
	case json.Delim:
		if depth >= maxDepth {
			return jvalue{}, errTooDeep
		}
		v := jvalue{kind: jArray}
		if t == '{' {
			v.kind = jObject
		}
		var seen map[string]struct{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return jvalue{}, errNotJSON
			}
			key := ""
			if v.kind == jObject {
				key, _ = tok.(string)
				if err := checkDup(&v, &seen, key); err != nil {
					return jvalue{}, err
				}
				if tok, err = dec.Token(); err != nil {
					return jvalue{}, errNotJSON
				}
			}
			e, err := decodeValue(dec, tok, depth+1)
			if err != nil {
				return jvalue{}, err
			}
			if v.kind == jObject {
				v.obj = append(v.obj, jmember{key, e})
			} else {
				v.arr = append(v.arr, e)
			}
		}
		if _, err := dec.Token(); err != nil {
			return jvalue{}, errNotJSON
		}
		return v, nil
	}
	return jvalue{}, errNotJSON
}

func BenchmarkParse(b *testing.B) {
	body := benchBody()
	for _, p := range []struct {
		name  string
		parse func([]byte) (jvalue, error)
	}{{"walker", parseJSON}, {"decoder", parseWithDecoder}} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := p.parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchBody is an order of about 1 KB.
func benchBody() []byte {
	var items []string
	for i := range 16 {
		items = append(items, `{"sku":"SKU-`+strings.Repeat("7", i%5+1)+`","qty":`+string(rune('1'+i%9))+`,"price":19.99,"tags":["a","b"]}`)
	}
	return []byte(`{"id":"ord-1","customer":{"name":"Ann Example","email":"ann@example.com","ssn":"123-45-6789"},"items":[` + strings.Join(items, ",") + `],"total":239.88,"note":null}`)
}
