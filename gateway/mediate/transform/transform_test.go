package transform

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/raygate/raygate/gateway/config"
)

func testEnv() *Env {
	params := map[string]string{
		"id": "42", "evil": "../admin", "slash": "a/b", "dots": "..", "dot": ".",
		"enc": "%2e%2e", "odd": "a b?c#d", "**": "x/y/z", "nul": "a\x00b",
	}
	return &Env{
		Params: func(n string) string { return params[n] },
		Query:  url.Values{"q": {"shoes", "boots"}, "empty": {""}, "n": {"12.50"}, "crlf": {"a\r\nX-Injected: 1"}},
		Header: http.Header{
			"X-User":   {"alice", "bob"},
			"X-Evil":   {"a\r\nX-Injected: 1"},
			"X-Nul":    {"a\x00b"},
			"X-Lf":     {"a\nb"},
			"X-Json":   {`{"k":[1,2]}`},
			"X-Bad":    {`{"k":`},
			"X-Binary": {"caf\xe9"},
		},
		Subject: "u1", Role: "admin", Route: "orders", RequestID: "rid-1",
		Method: "GET", Path: "/orders/42",
	}
}

// msg is a test message: a request unless url is "".
type msg struct {
	header http.Header
	url    string
	status int
	body   string
	json   bool
}

func (m msg) build(t *testing.T) *Message {
	t.Helper()
	out := &Message{Header: m.header, Status: m.status, JSON: m.json}
	if m.header == nil {
		out.Header = http.Header{}
	}
	if m.url != "" {
		u, err := url.Parse(m.url)
		if err != nil {
			t.Fatal(err)
		}
		out.URL = u
	}
	if m.body != "" {
		out.Body = []byte(m.body)
	}
	return out
}

func tr(op, name, to, value string) config.Transform {
	return config.Transform{Op: op, Name: name, To: to, Value: value}
}

func typed(t config.Transform, typ string) config.Transform { t.Type = typ; return t }

const order = `{"id":7,"customer":{"name":"Ann","ssn":"123","tags":["a","b"]},"total":12345678901234567890,"ratio":1.0,"small":1e-7}`

func TestApply(t *testing.T) {
	type want struct {
		header  http.Header // keys checked (nil value: absent)
		url     string      // URL.String()
		path    string      // URL.Path
		rawPath string      // URL.RawPath
		status  int
		body    string // "" means unchanged
		skipped int
	}
	cases := []struct {
		name     string
		response bool
		ts       []config.Transform
		in       msg
		want     want
	}{
		// headers, both sides
		{name: "header.add keeps existing", ts: []config.Transform{tr("header.add", "x-tag", "", "b")},
			in: msg{header: http.Header{"X-Tag": {"a"}}, url: "/"}, want: want{header: http.Header{"X-Tag": {"a", "b"}}}},
		{name: "header.add on response", response: true, ts: []config.Transform{tr("header.add", "X-Tag", "", "{route}")},
			in: msg{status: 200}, want: want{header: http.Header{"X-Tag": {"orders"}}, status: 200}},
		{name: "header.set replaces all values", ts: []config.Transform{tr("header.set", "X-Tag", "", "{identity.subject}/{identity.role}")},
			in: msg{header: http.Header{"X-Tag": {"a", "b"}}, url: "/"}, want: want{header: http.Header{"X-Tag": {"u1/admin"}}}},
		{name: "header.set first value, canonical name", ts: []config.Transform{tr("header.set", "X-Who", "", "{header.x-user}")},
			in: msg{url: "/"}, want: want{header: http.Header{"X-Who": {"alice"}}}},
		{name: "header.set literal braces", response: true, ts: []config.Transform{tr("header.set", "X-Env", "", "{{prod}} {request_id} {method} {path}")},
			in: msg{status: 200}, want: want{header: http.Header{"X-Env": {"{prod} rid-1 GET /orders/42"}}, status: 200}},
		{name: "header.set nil header map", ts: []config.Transform{tr("header.set", "X-A", "", "1")},
			in: msg{url: "/"}, want: want{header: http.Header{"X-A": {"1"}}}},
		{name: "header.remove", response: true, ts: []config.Transform{tr("header.remove", "server", "", "")},
			in: msg{header: http.Header{"Server": {"x"}, "X-Keep": {"y"}}, status: 200}, want: want{header: http.Header{"Server": nil, "X-Keep": {"y"}}, status: 200}},
		{name: "header.rename moves all values and replaces To", ts: []config.Transform{tr("header.rename", "X-Old", "X-New", "")},
			in: msg{header: http.Header{"X-Old": {"1", "2"}, "X-New": {"9"}}, url: "/"}, want: want{header: http.Header{"X-Old": nil, "X-New": {"1", "2"}}}},
		{name: "header template reads as received", ts: []config.Transform{
			tr("header.remove", "X-User", "", ""),
			tr("header.set", "X-Was", "", "{header.X-User}"),
		}, in: msg{header: http.Header{"X-User": {"alice"}}, url: "/"}, want: want{header: http.Header{"X-User": nil, "X-Was": {"alice"}}}},

		// query
		{name: "query.add escapes, keeps order and encoding", ts: []config.Transform{tr("query.add", "new key", "", "x y&z={query.q}")},
			in: msg{url: "/p?z=1&a=%41&b"}, want: want{url: "/p?z=1&a=%41&b&new+key=x+y%26z%3Dshoes"}},
		{name: "query.set replaces first, drops the rest, keeps the rest in order", ts: []config.Transform{tr("query.set", "q", "", "{query.q}")},
			in: msg{url: "/p?z=1&a=%41&q=old&b=2&q=again"}, want: want{url: "/p?z=1&a=%41&q=shoes&b=2"}},
		{name: "query.set absent appends", ts: []config.Transform{tr("query.set", "page", "", "1")},
			in: msg{url: "/p?z=1&a=%41"}, want: want{url: "/p?z=1&a=%41&page=1"}},
		{name: "query.set on empty query", ts: []config.Transform{tr("query.set", "page", "", "1")},
			in: msg{url: "/p"}, want: want{url: "/p?page=1"}},
		{name: "query.set present but empty value", ts: []config.Transform{tr("query.set", "e", "", "[{query.empty}]")},
			in: msg{url: "/p"}, want: want{url: "/p?e=%5B%5D"}},
		{name: "query.remove every occurrence", ts: []config.Transform{tr("query.remove", "q", "", "")},
			in: msg{url: "/p?a=1&q=1&b=%20&q=2"}, want: want{url: "/p?a=1&b=%20"}},
		{name: "query.remove matches the unescaped key", ts: []config.Transform{tr("query.remove", "my key", "", "")},
			in: msg{url: "/p?my+key=1&my%20key=2&x=%zz"}, want: want{url: "/p?x=%zz"}},
		{name: "query.rename keeps values and place, replaces To", ts: []config.Transform{tr("query.rename", "old", "new", "")},
			in: msg{url: "/p?a=1&old=x%20y&new=9&old&c=3"}, want: want{url: "/p?a=1&new=x%20y&new&c=3"}},
		{name: "query CRLF is escaped", ts: []config.Transform{tr("query.add", "c", "", "{query.crlf}")},
			in: msg{url: "/p"}, want: want{url: "/p?c=a%0D%0AX-Injected%3A+1"}},

		// path
		{name: "path.rewrite", ts: []config.Transform{tr("path.rewrite", "", "", "/v2/orders/{param.id}")},
			in: msg{url: "/orders/42?x=1"}, want: want{url: "/v2/orders/42?x=1", path: "/v2/orders/42"}},
		{name: "path.rewrite escapes a value in its segment", ts: []config.Transform{tr("path.rewrite", "", "", "/search/{param.odd}/x")},
			in: msg{url: "/s"}, want: want{url: "/search/a%20b%3Fc%23d/x", path: "/search/a b?c#d/x", rawPath: "/search/a%20b%3Fc%23d/x"}},
		{name: "path.rewrite {path} keeps its segments", ts: []config.Transform{tr("path.rewrite", "", "", "/v2{path}")},
			in: msg{url: "/orders/42"}, want: want{url: "/v2/orders/42", path: "/v2/orders/42"}},
		{name: "path.rewrite {param.**}", ts: []config.Transform{tr("path.rewrite", "", "", "/static/{param.**}/")},
			in: msg{url: "/s"}, want: want{url: "/static/x/y/z/", path: "/static/x/y/z/"}},
		{name: "path.rewrite literal escapes kept", ts: []config.Transform{tr("path.rewrite", "", "", "/caf%C3%A9/{param.id}")},
			in: msg{url: "/s"}, want: want{url: "/caf%C3%A9/42", path: "/café/42", rawPath: "/caf%C3%A9/42"}},

		// body
		{name: "body.add absent", ts: []config.Transform{tr("body.add", "/source", "", "gateway")},
			in:   msg{url: "/", body: order, json: true},
			want: want{body: `{"id":7,"customer":{"name":"Ann","ssn":"123","tags":["a","b"]},"total":12345678901234567890,"ratio":1.0,"small":1e-7,"source":"gateway"}`}},
		{name: "body.set replaces in place, numbers as written", response: true, ts: []config.Transform{typed(tr("body.set", "/id", "", "{query.n}"), "number")},
			in:   msg{status: 200, body: order, json: true},
			want: want{status: 200, body: `{"id":12.50,"customer":{"name":"Ann","ssn":"123","tags":["a","b"]},"total":12345678901234567890,"ratio":1.0,"small":1e-7}`}},
		{name: "body.set creates intermediate objects", ts: []config.Transform{typed(tr("body.set", "/meta/trace/on", "", "true"), "boolean")},
			in: msg{url: "/", body: `{"b":1,"a":2}`, json: true}, want: want{body: `{"b":1,"a":2,"meta":{"trace":{"on":true}}}`}},
		{name: "body.set json value", ts: []config.Transform{typed(tr("body.set", "/x", "", "{header.X-Json}"), "json")},
			in: msg{url: "/", body: `{}`, json: true}, want: want{body: `{"x":{"k":[1,2]}}`}},
		{name: "body.set constant json then edit inside it", ts: []config.Transform{
			typed(tr("body.set", "/x", "", `{{"k": [1, 2.0]}}`), "json"),
			tr("body.add", "/x/k/-", "", "3"),
		}, in: msg{url: "/", body: `{}`, json: true}, want: want{body: `{"x":{"k":[1,2.0,"3"]}}`}},
		{name: "body.set string escapes and invalid UTF-8", ts: []config.Transform{
			tr("body.set", "/evil", "", "{query.crlf}\"<&>\u2028"),
			tr("body.set", "/bin", "", "{header.X-Binary}"),
		}, in: msg{url: "/", body: `{}`, json: true}, want: want{body: `{"evil":"a\r\nX-Injected: 1\"<&>\u2028","bin":"caf\ufffd"}`}},
		{name: "body.set array index and append", ts: []config.Transform{
			tr("body.set", "/customer/tags/0", "", "A"),
			tr("body.set", "/customer/tags/2", "", "c"),
			tr("body.set", "/customer/tags/-", "", "d"),
			tr("body.add", "/customer/tags/-", "", "e"),
		}, in: msg{url: "/", body: order, json: true},
			want: want{body: `{"id":7,"customer":{"name":"Ann","ssn":"123","tags":["A","b","c","d","e"]},"total":12345678901234567890,"ratio":1.0,"small":1e-7}`}},
		{name: "body pointer escapes ~0 ~1", ts: []config.Transform{
			tr("body.set", "/a~1b", "", "slash"),
			tr("body.set", "/m~0n", "", "tilde"),
			tr("body.set", "/~01", "", "tilde-one"),
			tr("body.remove", "/x~1y", "", ""),
		}, in: msg{url: "/", body: `{"a/b":1,"m~n":2,"x/y":3,"~1":4}`, json: true}, want: want{body: `{"a/b":"slash","m~n":"tilde","~1":"tilde-one"}`}},
		{name: "body.remove keeps order", response: true, ts: []config.Transform{tr("body.remove", "/customer/ssn", "", "")},
			in:   msg{status: 200, body: order, json: true},
			want: want{status: 200, body: `{"id":7,"customer":{"name":"Ann","tags":["a","b"]},"total":12345678901234567890,"ratio":1.0,"small":1e-7}`}},
		{name: "body.remove array element", ts: []config.Transform{tr("body.remove", "/customer/tags/0", "", "")},
			in:   msg{url: "/", body: order, json: true},
			want: want{body: `{"id":7,"customer":{"name":"Ann","ssn":"123","tags":["b"]},"total":12345678901234567890,"ratio":1.0,"small":1e-7}`}},
		{name: "body.rename keeps the key's place", response: true, ts: []config.Transform{tr("body.rename", "/customer/name", "full~1name", "")},
			in:   msg{status: 200, body: order, json: true},
			want: want{status: 200, body: `{"id":7,"customer":{"full/name":"Ann","ssn":"123","tags":["a","b"]},"total":12345678901234567890,"ratio":1.0,"small":1e-7}`}},
		{name: "body.move creates intermediates, RFC 6902 order", ts: []config.Transform{tr("body.move", "/customer/ssn", "/private/id/ssn", "")},
			in:   msg{url: "/", body: order, json: true},
			want: want{body: `{"id":7,"customer":{"name":"Ann","tags":["a","b"]},"total":12345678901234567890,"ratio":1.0,"small":1e-7,"private":{"id":{"ssn":"123"}}}`}},
		{name: "body.move within an array", ts: []config.Transform{tr("body.move", "/l/0", "/l/-", "")},
			in: msg{url: "/", body: `{"l":[1,2,3]}`, json: true}, want: want{body: `{"l":[2,3,1]}`}},
		{name: "body.move replaces the target", ts: []config.Transform{tr("body.move", "/a", "/b", "")},
			in: msg{url: "/", body: `{"a":1,"b":2,"c":3}`, json: true}, want: want{body: `{"b":1,"c":3}`}},
		{name: "a failed move is undone, later steps still apply", ts: []config.Transform{
			tr("body.move", "/a", "/s/x", ""),
			tr("body.move", "/l/1", "/l/9", ""),
			tr("body.set", "/z", "", "1"),
		}, in: msg{url: "/", body: `{"a":1,"s":"str","l":[1,2,3],"z":0}`, json: true},
			want: want{body: `{"a":1,"s":"str","l":[1,2,3],"z":"1"}`, skipped: 2}},
		{name: "body whitespace is compacted only when changed", ts: []config.Transform{tr("body.set", "/a", "", "x")},
			in: msg{url: "/", body: " {\n \"a\" : 1 ,\"b\":[ ]} \n", json: true}, want: want{body: `{"a":"x","b":[]}`}},

		// status
		{name: "status.set any", response: true, ts: []config.Transform{{Op: "status.set", Status: 202}},
			in: msg{status: 200}, want: want{status: 202}},
		{name: "status.set when matches", response: true, ts: []config.Transform{{Op: "status.set", Status: 404, When: 403}},
			in: msg{status: 403}, want: want{status: 404}},
		{name: "status.set when does not match is not a skip", response: true, ts: []config.Transform{{Op: "status.set", Status: 404, When: 403, OnError: "fail"}},
			in: msg{status: 200}, want: want{status: 200}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Compile(c.ts, c.response)
			if err != nil {
				t.Fatal(err)
			}
			m := c.in.build(t)
			env := testEnv()
			envBefore := cloneEnv(env)
			skipped, err := l.Apply(m, env)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if skipped != c.want.skipped {
				t.Errorf("skipped %d, want %d", skipped, c.want.skipped)
			}
			if !envEqual(env, envBefore) {
				t.Errorf("Apply changed the Env")
			}
			for k, v := range c.want.header {
				if got := m.Header[k]; !reflect.DeepEqual(got, v) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if c.want.url != "" && m.URL.String() != c.want.url {
				t.Errorf("url %q, want %q", m.URL.String(), c.want.url)
			}
			if c.want.path != "" && (m.URL.Path != c.want.path || m.URL.RawPath != c.want.rawPath) {
				t.Errorf("path %q raw %q, want %q raw %q", m.URL.Path, m.URL.RawPath, c.want.path, c.want.rawPath)
			}
			if m.Status != c.want.status {
				t.Errorf("status %d, want %d", m.Status, c.want.status)
			}
			if c.want.body == "" {
				if m.BodyChanged || string(m.Body) != c.in.body {
					t.Errorf("body changed: %s", m.Body)
				}
			} else {
				if !m.BodyChanged || string(m.Body) != c.want.body {
					t.Errorf("body %s (changed %v)\nwant %s", m.Body, m.BodyChanged, c.want.body)
				}
				if !json.Valid(m.Body) {
					t.Errorf("body is not valid JSON")
				}
			}
		})
	}
}

func cloneEnv(e *Env) *Env {
	c := *e
	c.Query = url.Values{}
	for k, v := range e.Query {
		c.Query[k] = append([]string(nil), v...)
	}
	c.Header = e.Header.Clone()
	return &c
}

func envEqual(a, b *Env) bool {
	return reflect.DeepEqual(a.Query, b.Query) && reflect.DeepEqual(a.Header, b.Header) &&
		a.Subject == b.Subject && a.Role == b.Role && a.Route == b.Route && a.RequestID == b.RequestID &&
		a.Method == b.Method && a.Path == b.Path
}

// TestCannotApply runs each case under on_error: skip (the step is
// skipped, counted, and the message untouched) and fail (a *StepError
// with the reason).
func TestCannotApply(t *testing.T) {
	deep := strings.Repeat("[", 65) + strings.Repeat("]", 65)
	ok64 := strings.Repeat("[", 64) + strings.Repeat("]", 64)
	cases := []struct {
		name     string
		response bool
		tr       config.Transform
		in       msg
		reason   string
	}{
		{"header template absent", false, tr("header.set", "X-A", "", "id={header.X-Missing}"), msg{url: "/"}, "header X-Missing is absent"},
		{"param absent", false, tr("header.set", "X-A", "", "{param.nope}"), msg{url: "/"}, "route parameter nope is absent"},
		{"query absent", false, tr("header.add", "X-A", "", "{query.nope}"), msg{url: "/"}, "query parameter nope is absent"},
		{"identity absent", false, tr("query.set", "u", "", "{identity.subject}"), msg{url: "/"}, "identity subject is absent"},
		{"header.set CRLF injection", false, tr("header.set", "X-A", "", "{header.X-Evil}"), msg{url: "/"}, "control character"},
		{"header.add LF injection", true, tr("header.add", "X-A", "", "{header.X-Lf}"), msg{status: 200}, "control character"},
		{"header.set NUL", false, tr("header.set", "X-A", "", "v={header.X-Nul}"), msg{url: "/"}, "control character"},
		{"header.set query CRLF", false, tr("header.set", "X-A", "", "{query.crlf}"), msg{url: "/"}, "control character"},
		{"header.remove absent", true, tr("header.remove", "X-A", "", ""), msg{status: 200}, "header not present"},
		{"header.rename absent", false, tr("header.rename", "X-A", "X-B", ""), msg{header: http.Header{"X-B": {"1"}}, url: "/"}, "header not present"},
		{"query.remove absent", false, tr("query.remove", "a", "", ""), msg{url: "/p?b=1"}, "query parameter not present"},
		{"query.rename absent", false, tr("query.rename", "a", "c", ""), msg{url: "/p?b=1&c=2"}, "query parameter not present"},
		{"path traversal ../admin", false, tr("path.rewrite", "", "", "/files/{param.evil}"), msg{url: "/p"}, "slash"},
		{"path slash a/b", false, tr("path.rewrite", "", "", "/files/{param.slash}/x"), msg{url: "/p"}, "slash"},
		{"path dot-dot segment", false, tr("path.rewrite", "", "", "/files/{param.dots}"), msg{url: "/p"}, `".."`},
		{"path dot segment", false, tr("path.rewrite", "", "", "/files/{param.dot}/x"), msg{url: "/p"}, `"."`},
		{"path double-encoded dots", false, tr("path.rewrite", "", "", "/files/{param.enc}"), msg{url: "/p"}, "double-encoded"},
		{"path empty segment", false, tr("path.rewrite", "", "", "/files/{query.empty}/x"), msg{url: "/p"}, "empty segment"},
		{"path NUL", false, tr("path.rewrite", "", "", "/files/{param.nul}"), msg{url: "/p"}, "control character"},
		{"body not JSON content type", false, tr("body.set", "/a", "", "1"), msg{url: "/", body: `{}`}, "body is not JSON"},
		{"body does not parse", false, tr("body.set", "/a", "", "1"), msg{url: "/", body: `{"a":`, json: true}, "not valid JSON"},
		{"body trailing data", false, tr("body.set", "/a", "", "1"), msg{url: "/", body: `{} {}`, json: true}, "not valid JSON"},
		{"body empty", true, tr("body.set", "/a", "", "1"), msg{status: 200, json: true}, "no body"},
		{"body too deep", false, tr("body.set", "/a", "", "1"), msg{url: "/", body: `{"x":` + ok64 + `}`, json: true}, "deeper than 64"},
		{"body duplicate key", false, tr("body.remove", "/a", "", ""), msg{url: "/", body: `{"a":1,"a":2}`, json: true}, "twice"},
		{"body.add present", false, tr("body.add", "/a", "", "1"), msg{url: "/", body: `{"a":0}`, json: true}, "field already present"},
		{"body.add array index present", false, tr("body.add", "/l/0", "", "1"), msg{url: "/", body: `{"l":[0]}`, json: true}, "field already present"},
		{"body.set index past end", false, tr("body.set", "/l/2", "", "1"), msg{url: "/", body: `{"l":[0]}`, json: true}, "out of range"},
		{"body.set leading zero index", false, tr("body.set", "/l/01", "", "1"), msg{url: "/", body: `{"l":[0,1]}`, json: true}, "out of range"},
		{"body.set through a scalar", false, tr("body.set", "/a/b", "", "1"), msg{url: "/", body: `{"a":"s"}`, json: true}, "not an object or array"},
		{"body.set through null", false, tr("body.set", "/a/b/c", "", "1"), msg{url: "/", body: `{"a":null}`, json: true}, "field not found"},
		{"body.set root scalar", true, tr("body.set", "/a", "", "1"), msg{status: 200, body: `"s"`, json: true}, "not an object or array"},
		{"body.set number type", false, typed(tr("body.set", "/a", "", "{query.q}"), "number"), msg{url: "/", body: `{}`, json: true}, "not a JSON number"},
		{"body.set boolean type", false, typed(tr("body.set", "/a", "", "{query.q}"), "boolean"), msg{url: "/", body: `{}`, json: true}, `not "true" or "false"`},
		{"body.set json type", false, typed(tr("body.set", "/a", "", "{header.X-Bad}"), "json"), msg{url: "/", body: `{}`, json: true}, "not valid JSON"},
		{"body.set json type too deep", false, typed(tr("body.set", "/a", "", "{query.deep}"), "json"), msg{url: "/", body: `{}`, json: true}, "deeper than 64"},
		{"body.remove absent", true, tr("body.remove", "/customer/ssn", "", ""), msg{status: 200, body: `{"customer":{}}`, json: true}, "field not found"},
		{"body.remove absent parent", false, tr("body.remove", "/customer/ssn", "", ""), msg{url: "/", body: `{}`, json: true}, "field not found"},
		{"body.remove dash", false, tr("body.remove", "/l/-", "", ""), msg{url: "/", body: `{"l":[1]}`, json: true}, "field not found"},
		{"body.rename absent", false, tr("body.rename", "/a", "b", ""), msg{url: "/", body: `{"c":1}`, json: true}, "field not found"},
		{"body.rename target present", false, tr("body.rename", "/a", "b", ""), msg{url: "/", body: `{"a":1,"b":2}`, json: true}, "field b already present"},
		{"body.rename in array", false, tr("body.rename", "/l/0", "b", ""), msg{url: "/", body: `{"l":[1]}`, json: true}, "not an object"},
		{"body.move absent source", false, tr("body.move", "/a", "/b", ""), msg{url: "/", body: `{"c":1}`, json: true}, "field not found"},
		{"body.move target blocked is undone", false, tr("body.move", "/a", "/s/x", ""), msg{url: "/", body: `{"a":1,"s":"str","z":0}`, json: true}, "target: parent is not an object or array"},
		{"body.move array target out of range is undone", false, tr("body.move", "/l/0", "/l/5", ""), msg{url: "/", body: `{"l":[1,2]}`, json: true}, "target: array index out of range"},
	}
	for _, c := range cases {
		for _, onError := range []string{"skip", "fail"} {
			t.Run(c.name+"/"+onError, func(t *testing.T) {
				ts := c.tr
				ts.OnError = onError
				l, err := Compile([]config.Transform{ts}, c.response)
				if err != nil {
					t.Fatal(err)
				}
				m := c.in.build(t)
				before := cloneMessage(m)
				env := testEnv()
				env.Query.Set("deep", deep)
				env.Subject = "" // anonymous
				skipped, err := l.Apply(m, env)
				if onError == "skip" {
					if err != nil || skipped != 1 {
						t.Fatalf("skipped %d, err %v; want 1, nil", skipped, err)
					}
				} else {
					var se *StepError
					if !errors.As(err, &se) || skipped != 0 {
						t.Fatalf("skipped %d, err %v; want a StepError", skipped, err)
					}
					if se.Index != 1 || !strings.Contains(se.Reason, c.reason) {
						t.Fatalf("StepError %+v; want index 1, reason containing %q", se, c.reason)
					}
				}
				if !reflect.DeepEqual(cloneMessage(m), before) {
					t.Errorf("message changed:\n%+v\nwas\n%+v", cloneMessage(m), before)
				}
			})
		}
	}
}

// flatMessage compares messages by value (the URL as a string).
type flatMessage struct {
	Header        http.Header
	URL           string
	Status        int
	Body          string
	JSON, Changed bool
}

func cloneMessage(m *Message) flatMessage {
	f := flatMessage{Header: m.Header.Clone(), Status: m.Status, Body: string(m.Body), JSON: m.JSON, Changed: m.BodyChanged}
	if m.URL != nil {
		f.URL = m.URL.String() + "|" + m.URL.Path + "|" + m.URL.RawPath
	}
	return f
}

func TestStepErrorAndDescribe(t *testing.T) {
	l, err := Compile([]config.Transform{
		{Op: "header.set", Name: "x-env", Value: "prod"},
		{Op: "header.rename", Name: "X-A", To: "X-B", OnError: "fail"},
		{Op: "body.remove", Name: "/customer/ssn", OnError: "fail"},
		{Op: "body.set", Name: "/n", Value: "{query.n}", Type: "number"},
		{Op: "body.move", Name: "/a", To: "/b/c"},
		{Op: "status.set", Status: 404, When: 403},
		{Op: "status.set", Status: 200},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`1. header.set x-env = "prod" (on error: skip)`,
		`2. header.rename X-A -> X-B (on error: fail)`,
		`3. body.remove /customer/ssn (on error: fail)`,
		`4. body.set /n = "{query.n}" as number (on error: skip)`,
		`5. body.move /a -> /b/c (on error: skip)`,
		`6. status.set 404 when 403 (on error: skip)`,
		`7. status.set 200 (on error: skip)`,
	}
	if got := l.Describe(); !reflect.DeepEqual(got, want) {
		t.Errorf("Describe:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if l.Len() != 7 || !l.NeedsBody() {
		t.Errorf("Len %d NeedsBody %v", l.Len(), l.NeedsBody())
	}
	m := &Message{Header: http.Header{"X-A": {"1"}}, Status: 200, Body: []byte(`{"customer":{}}`), JSON: true}
	_, err = l.Apply(m, &Env{})
	var se *StepError
	if !errors.As(err, &se) || se.Error() != "transform 3 (body.remove /customer/ssn): field not found" {
		t.Fatalf("err %v", err)
	}
	if m.BodyChanged || string(m.Body) != `{"customer":{}}` {
		t.Errorf("a failed Apply rewrote the body: %s", m.Body)
	}
}

func TestNilSafety(t *testing.T) {
	var l *List
	if l.Len() != 0 || l.NeedsBody() || l.Describe() != nil {
		t.Error("nil list")
	}
	if n, err := l.Apply(nil, nil); n != 0 || err != nil {
		t.Error("nil list Apply")
	}
	l, err := Compile([]config.Transform{tr("header.set", "X-A", "", "{header.X-B}"), tr("query.set", "a", "", "1"), tr("path.rewrite", "", "", "/x"), tr("body.set", "/a", "", "{param.p}")}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Apply(nil, nil); err == nil {
		t.Error("nil message: no error")
	}
	// no URL, no headers, no Env
	n, err := l.Apply(&Message{}, nil)
	if n != 4 || err != nil {
		t.Errorf("empty message: skipped %d err %v", n, err)
	}
}

// TestEnvHeaderAliased: the caller may pass r.Header as both the message's
// and the Env's headers; templates still read the headers as received,
// and the Env (the same map) is what the steps leave, nothing more.
func TestEnvHeaderAliased(t *testing.T) {
	l, err := Compile([]config.Transform{
		tr("header.set", "X-User", "", "mallory"),
		tr("header.set", "X-Was", "", "{header.X-User}"),
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-User": {"alice"}}
	m := &Message{Header: h, URL: &url.URL{Path: "/"}}
	if _, err := l.Apply(m, &Env{Header: h}); err != nil {
		t.Fatal(err)
	}
	if got := h.Get("X-Was"); got != "alice" {
		t.Errorf("X-Was = %q, want alice", got)
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		response bool
		tr       config.Transform
		want     string
	}{
		{false, config.Transform{Op: "header.explode", Name: "X"}, "unknown operation"},
		{true, tr("query.set", "a", "", "1"), "not on responses"},
		{true, tr("path.rewrite", "", "", "/a"), "not on responses"},
		{false, config.Transform{Op: "status.set", Status: 200}, "not on requests"},
		{false, tr("header.set", "", "", "1"), "name is required"},
		{false, tr("header.rename", "X-A", "", ""), "to is required"},
		{false, tr("header.remove", "X-A", "", "v"), "takes no value"},
		{false, tr("header.set", "X-A", "X-B", "v"), "takes no to"},
		{false, config.Transform{Op: "header.set", Name: "X-A", OnError: "retry"}, "on_error"},
		{false, tr("header.set", "Bad Name", "", "v"), "not a header name"},
		{false, tr("header.set", "content-length", "", "1"), "framing"},
		{false, tr("header.rename", "X-A", "Host", ""), "framing"},
		{false, tr("header.rename", "X-A", "x-a", ""), "to itself"},
		{false, tr("header.set", "X-A", "", "a\r\nb"), "control character"},
		{false, tr("header.set", "X-A", "", "{nope}"), "not a known value"},
		{false, tr("header.set", "X-A", "", "{route"), "unclosed"},
		{false, tr("header.set", "X-A", "", "route}"), "unmatched"},
		{false, tr("query.rename", "a", "a", ""), "to itself"},
		{false, tr("path.rewrite", "", "", "v2/{param.id}"), "starts with /"},
		{false, tr("path.rewrite", "", "", "/a/../{param.id}"), `".."`},
		{false, tr("path.rewrite", "", "", "/a//{param.id}"), "empty segment"},
		{false, tr("path.rewrite", "", "", "/v2/{path}"), "empty segment"},
		{false, tr("path.rewrite", "", "", "/a b"), "escape it"},
		{false, tr("path.rewrite", "", "", "/a%2Fb"), "encoded slash"},
		{false, tr("body.set", "a", "", "1"), "JSON pointer"},
		{false, tr("body.set", "/a~2", "", "1"), "~0"},
		{false, typed(tr("body.set", "/a", "", "1"), "date"), "type"},
		{false, typed(tr("body.set", "/a", "", "12x"), "number"), "not a JSON number"},
		{false, typed(tr("body.set", "/a", "", "yes"), "boolean"), "true"},
		{false, typed(tr("body.set", "/a", "", "{"), "json"), "unclosed"},
		{false, typed(tr("body.set", "/a", "", "{{"), "json"), "not valid JSON"},
		{false, tr("body.rename", "/a", "b/c", ""), "key only"},
		{false, tr("body.rename", "/x/a", "a", ""), "to itself"},
		{false, tr("body.move", "/a", "/a/b", ""), "into itself"},
		{false, tr("body.move", "/a", "/a", ""), "to itself"},
		{true, config.Transform{Op: "status.set", Status: 99}, "not an HTTP status"},
		{true, config.Transform{Op: "status.set", Status: 200, When: 700}, "not an HTTP status"},
		{true, config.Transform{Op: "header.set", Name: "X", Status: 200}, "belong to status.set"},
	}
	for _, c := range cases {
		_, err := Compile([]config.Transform{tr("header.set", "X-Ok", "", "1"), c.tr}, c.response)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "transform 2 (") {
			t.Errorf("%+v: err %v, want %q", c.tr, err, c.want)
		}
	}
}

// TestAgreesWithConfig: Compile refuses whatever config validation
// refuses (after config's defaults), and is stricter only where it can see
// that a step could never apply (those cases are logged: see the README).
func TestAgreesWithConfig(t *testing.T) {
	cases := []struct {
		response bool
		tr       config.Transform
	}{
		{false, config.Transform{Op: "header.add", Name: "X-A", Value: "{identity.role}"}},
		{false, config.Transform{Op: "query.rename", Name: "a", To: "b", OnError: "fail"}},
		{false, config.Transform{Op: "path.rewrite", Value: "/v1/{param.id}/{method}"}},
		{false, config.Transform{Op: "body.move", Name: "/a/0", To: "/b/-"}},
		{false, config.Transform{Op: "body.set", Name: "/a"}},
		{true, config.Transform{Op: "status.set", Status: 200, When: 404}},
		{true, config.Transform{Op: "header.rename", Name: "X-A", To: "X-B"}},
		// config accepts, Compile refuses
		{false, config.Transform{Op: "path.rewrite", Value: "/v1/{{x}}"}},
		{false, config.Transform{Op: "path.rewrite", Value: "/a/../{param.id}"}},
		{false, config.Transform{Op: "path.rewrite", Value: "/v2/{path}"}},
		{false, config.Transform{Op: "header.rename", Name: "X-A", To: "Host"}},
		{false, config.Transform{Op: "header.rename", Name: "X-A", To: "x-a"}},
		{false, config.Transform{Op: "header.set", Name: "X-A", Value: "a\nb"}},
		{false, config.Transform{Op: "query.rename", Name: "a", To: "a"}},
		{false, config.Transform{Op: "body.set", Name: "/a", Value: "x", Type: "number"}},
		{false, config.Transform{Op: "body.set", Name: "/a", Type: "json"}},
		{false, config.Transform{Op: "body.move", Name: "/a", To: "/a/b"}},
		{false, config.Transform{Op: "body.move", Name: "/a", To: "/a"}},
		{false, config.Transform{Op: "body.rename", Name: "/a", To: "a"}},
		{false, config.Transform{Op: "body.rename", Name: "/a", To: "b~2"}},
		// both refuse
		{false, config.Transform{Op: "status.set", Status: 200}},
		{true, config.Transform{Op: "query.set", Name: "a"}},
		{false, config.Transform{Op: "header.set", Name: "Content-Length", Value: "1"}},
		{false, config.Transform{Op: "body.set", Name: "/", Value: "1"}},
		{false, config.Transform{Op: "body.rename", Name: "/a", To: "b/c"}},
		{false, config.Transform{Op: "header.set", Name: "X-A", Value: "{nope}"}},
	}
	for _, c := range cases {
		side := "request"
		if c.response {
			side = "response"
		}
		js, _ := json.Marshal(c.tr)
		doc := "mediation: {policies: [{name: p, " + side + ": {transforms: [" + string(js) + "]}}]}\n"
		cfg, cfgErr := config.Parse("t.yaml", []byte(doc))
		var ts []config.Transform
		if cfgErr == nil {
			p := cfg.Mediation.Policies[0]
			if c.response {
				ts = p.Response.Transforms
			} else {
				ts = p.Request.Transforms
			}
		} else {
			ts = []config.Transform{c.tr}
		}
		_, err := Compile(ts, c.response)
		switch {
		case cfgErr != nil && err == nil:
			t.Errorf("%s: config refuses (%v), Compile accepts", js, cfgErr)
		case cfgErr == nil && err != nil:
			t.Logf("%s: config accepts, Compile refuses: %v", js, err)
		}
	}
}

// TestConcurrent applies one list from many goroutines (run with -race):
// constant values are cloned, nothing in the List is written.
func TestConcurrent(t *testing.T) {
	l, err := Compile([]config.Transform{
		typed(tr("body.set", "/x", "", `{{"k":[1]}}`), "json"),
		tr("body.add", "/x/k/-", "", "{param.id}"),
		tr("header.add", "X-A", "", "{header.X-User}"),
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	for range 8 {
		go func() {
			var last string
			for range 200 {
				m := &Message{Header: http.Header{}, URL: &url.URL{Path: "/"}, Body: []byte(`{}`), JSON: true}
				if _, err := l.Apply(m, testEnv()); err != nil {
					panic(err)
				}
				last = string(m.Body)
			}
			done <- last
		}()
	}
	for range 8 {
		if got := <-done; got != `{"x":{"k":[1,"42"]}}` {
			t.Errorf("body %s", got)
		}
	}
}

func TestParseJSON(t *testing.T) {
	for _, in := range []string{
		`{"z":1,"a":{"y":[1,2.50,-0,1E+2,12345678901234567890123],"x":null},"m":true,"n":false,"s":"\u00e9\ud83d\ude00\"\\/"}`,
		`[]`, `{}`, `"x"`, `0`, `null`,
	} {
		v, err := parseJSON([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		out := string(appendJSON(nil, &v))
		var a, b any
		json.Unmarshal([]byte(in), &a)
		json.Unmarshal([]byte(out), &b)
		if !reflect.DeepEqual(a, b) || !json.Valid([]byte(out)) {
			t.Errorf("%s -> %s", in, out)
		}
		if strings.Contains(in, "2.50") && !strings.Contains(out, `[1,2.50,-0,1E+2,12345678901234567890123]`) {
			t.Errorf("numbers altered: %s", out)
		}
	}
	for _, in := range []string{``, `{`, `{"a"}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a" 1}`, `{1:2}`, `01`, `1.`, `nul`, `"\x"`, "\"\x01\"", `{}}`, `[]]`} {
		if _, err := parseJSON([]byte(in)); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
	ok := strings.Repeat(`{"a":`, 64) + "1" + strings.Repeat("}", 64)
	if _, err := parseJSON([]byte(ok)); err != nil {
		t.Errorf("64 deep: %v", err)
	}
	if _, err := parseJSON([]byte("[" + ok + "]")); err != errTooDeep {
		t.Errorf("65 deep: %v", err)
	}
	big := "{" + strings.Repeat(`"k":1,`, 0)
	for i := range 40 {
		big += `"k` + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `":1,`
	}
	if _, err := parseJSON([]byte(big + `"kba":2}`)); err == nil {
		t.Error("duplicate key past the scan limit parsed")
	}
}
