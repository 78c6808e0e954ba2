package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/route"
)

// fuzzSteps covers every body op, and feeds the fuzzed header value and
// parameter into headers, the query, the path and the body.
var fuzzSteps = []config.Transform{
	{Op: "header.set", Name: "X-A", Value: "{header.X-In}"},
	{Op: "header.add", Name: "X-B", Value: "p={param.p};q={query.q}"},
	{Op: "query.set", Name: "q", Value: "{param.p}"},
	{Op: "query.rename", Name: "r", To: "q2"},
	{Op: "path.rewrite", Value: "/v1/{param.p}/x{path}"},
	{Op: "body.add", Name: "/added", Value: "{header.X-In}"},
	{Op: "body.set", Name: "/a/b/c", Value: "{param.p}", Type: "json"},
	{Op: "body.set", Name: "/n", Value: "{param.p}", Type: "number"},
	{Op: "body.add", Name: "/flag", Value: "{param.p}", Type: "boolean"},
	{Op: "body.set", Name: "/arr/-", Value: "{header.X-In}"},
	{Op: "body.rename", Name: "/name", To: "re~1named"},
	{Op: "body.move", Name: "/a", To: "/moved/here"},
	{Op: "body.remove", Name: "/re~1named"},
	{Op: "body.set", Name: "/items/0", Value: "x"},
	{Op: "body.move", Name: "/items/0", To: "/items/-"},
	{Op: "body.remove", Name: "/items/1"},
	{Op: "body.set", Name: "/0/~0", Value: "{param.p}", Type: "json"},
}

var fuzzLists = func() (out [2]*List) {
	for i, onError := range []string{"skip", "fail"} {
		ts := make([]config.Transform, len(fuzzSteps))
		for j, t := range fuzzSteps {
			t.OnError = onError
			ts[j] = t
		}
		l, err := Compile(ts, false)
		if err != nil {
			panic(err)
		}
		out[i] = l
	}
	return out
}()

func FuzzApply(f *testing.F) {
	for _, s := range []struct{ body, hv, pv string }{
		{order, "alice", "42"},
		{`{"name":"n","a":{"b":1},"items":[1,2,3],"arr":[]}`, "a\r\nX-Injected: 1", "../admin"},
		{`{"a":1,"a":2}`, "x", "a/b"},
		{`[{"~":1}]`, "\x00", `{"k":[1,2]}`},
		{strings.Repeat("[", 70), "", ".."},
		{`{"items":[{"x":1}],"n":1.0}`, "caf\xe9", "12345678901234567890"},
		{`"\ud800"`, "\u2028", "true"},
		{`{} {}`, "v", "%2e%2e"},
		{"", "", ""},
	} {
		f.Add([]byte(s.body), s.hv, s.pv)
	}
	f.Fuzz(func(t *testing.T, body []byte, hv, pv string) {
		// the parser agrees with encoding/json and with the Decoder.Token
		// parser, and re-encodes to the same value
		v, perr := parseJSON(body)
		if dv, derr := parseWithDecoder(body); (derr == nil) != (perr == nil) || json.Valid(body) && !errors.Is(derr, perr) {
			t.Fatalf("%q: walker %v, decoder %v", body, perr, derr)
		} else if perr == nil && !bytes.Equal(appendJSON(nil, &v), appendJSON(nil, &dv)) {
			t.Fatalf("%q: walker %s, decoder %s", body, appendJSON(nil, &v), appendJSON(nil, &dv))
		}
		switch {
		case perr == nil:
			out := appendJSON(nil, &v)
			if !json.Valid(body) || !json.Valid(out) {
				t.Fatalf("parsed %q, encoded %q", body, out)
			}
			if a, b := decodeAny(body), decodeAny(out); !reflect.DeepEqual(a, b) {
				t.Fatalf("%q re-encoded as %q", body, out)
			}
		case errors.Is(perr, errNotJSON):
			if json.Valid(body) {
				t.Fatalf("valid JSON %q refused", body)
			}
		}

		for i, l := range fuzzLists {
			env := &Env{
				Params: func(n string) string {
					if n == "p" {
						return pv
					}
					return ""
				},
				Query:  url.Values{"q": {hv}},
				Header: http.Header{"X-In": {hv}},
				Method: "POST", Path: "/orig/" + url.PathEscape(pv),
			}
			m := &Message{
				Header: http.Header{"X-In": {hv}},
				URL:    &url.URL{Path: "/orig", RawQuery: "r=" + url.QueryEscape(pv) + "&q=1"},
				Body:   bytes.Clone(body), JSON: true,
			}
			_, err := l.Apply(m, env)
			if i == 0 && err != nil {
				t.Fatalf("skip list failed: %v", err)
			}
			var se *StepError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("error %v is not a StepError", err)
			}
			if err == nil && json.Valid(body) && !json.Valid(m.Body) {
				t.Fatalf("valid %q became invalid %q", body, m.Body)
			}
			if !m.BodyChanged && !bytes.Equal(m.Body, body) {
				t.Fatalf("body rewritten without BodyChanged")
			}
			for _, k := range []string{"X-A", "X-B"} { // X-In is the client's own
				for _, v := range m.Header[k] {
					if strings.ContainsAny(v, "\r\n\x00") {
						t.Fatalf("header %s: %q", k, v)
					}
				}
			}
			if p := m.URL.EscapedPath(); p != "/orig" {
				if n, err := route.Normalize(p); err != nil || n != m.URL.Path || !strings.HasPrefix(p, "/v1/") {
					t.Fatalf("path %q (Path %q): normalizes to %q, %v", p, m.URL.Path, n, err)
				}
			}
			if _, err := url.ParseQuery(m.URL.RawQuery); err != nil {
				t.Fatalf("query %q: %v", m.URL.RawQuery, err)
			}
			if hv != "" && env.Header.Get("X-In") != hv {
				t.Fatalf("Env changed")
			}
		}
	})
}

func decodeAny(b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err.Error()
	}
	return v
}
