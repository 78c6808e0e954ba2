package route

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		in, want string
		err      error
	}{
		{"", "/", nil},
		{"/", "/", nil},
		{"/a/b", "/a/b", nil},
		{"/a/b/", "/a/b/", nil},
		{"//a///b", "/a/b", nil},
		{"/a/./b", "/a/b", nil},
		{"/a/.", "/a/", nil},
		{"/a/b/..", "/a/", nil},
		{"/public/../admin", "/admin", nil},
		{"/public/%2e%2e/admin", "/admin", nil},
		{"/public/%2E%2E/admin", "/admin", nil},
		{"/public/.%2e/admin", "/admin", nil},
		{"/public/%2e/admin", "/public/admin", nil},
		{"/%61dmin", "/admin", nil},
		{"/a%20b", "/a b", nil},
		{"/..", "", ErrAboveRoot},
		{"/a/../..", "", ErrAboveRoot},
		{"/public%2f..%2fadmin", "", ErrEncodedSlash},
		{"/public/..%2Fadmin", "", ErrEncodedSlash},
		{"/public\\..\\admin", "", ErrBackslash},
		{"/public/%5c../admin", "", ErrBackslash},
		{"/a%00b", "", ErrControlCharacter},
		{"/a\x01b", "", ErrControlCharacter},
		{"/a%zz", "", ErrBadEscape},
		{"/a%2", "", ErrBadEscape},
		{"/a%", "", ErrBadEscape},
		{"/public/%252e%252e/admin", "", ErrDoubleEncoded},
		{"/a%252Fb", "", ErrDoubleEncoded},
		{"relative", "", ErrNotAbsolute},
		{"/" + strings.Repeat("a", MaxPathBytes), "", ErrTooLong},
	}
	for _, c := range cases {
		got, err := Normalize(c.in)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
}

type rt struct {
	name string
	spec Spec
}

func build(t *testing.T, routes ...rt) *Table[string] {
	t.Helper()
	var es []Entry[string]
	for _, r := range routes {
		es = append(es, Entry[string]{Name: r.name, Spec: r.spec, Value: r.name})
	}
	tb, err := Build(es)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func req(method, target string, hdr ...string) *Request {
	u, _ := url.Parse(target)
	p, err := Normalize(u.EscapedPath())
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Add(hdr[i], hdr[i+1])
	}
	host := u.Hostname()
	if host == "" {
		host = "example.com"
	}
	return &Request{Method: method, Host: host, Path: p, Header: h, RawQuery: u.RawQuery}
}

func TestPrecedence(t *testing.T) {
	tb := build(t,
		rt{"regex-users", Spec{Kind: Regex, Pattern: `/v1/users/(?P<uid>[0-9]+)`}},
		rt{"prefix-v1", Spec{Kind: Prefix, Pattern: "/v1/"}},
		rt{"prefix-v1-users", Spec{Kind: Prefix, Pattern: "/v1/users"}},
		rt{"tpl-user", Spec{Kind: Template, Pattern: "/v1/users/{id}"}},
		rt{"tpl-user-orders", Spec{Kind: Template, Pattern: "/v1/users/*/orders"}},
		rt{"tpl-orders-tail", Spec{Kind: Template, Pattern: "/v1/users/{id}/**"}},
		rt{"exact-me", Spec{Kind: Exact, Pattern: "/v1/users/me"}},
		rt{"tpl-literal-first", Spec{Kind: Template, Pattern: "/v1/{x}/special"}},
		rt{"tpl-users-special", Spec{Kind: Template, Pattern: "/v1/users/special"}},
		rt{"root", Spec{Kind: Prefix, Pattern: "/"}},
		rt{"regex-late", Spec{Kind: Regex, Pattern: `/zz/.*`}},
		rt{"regex-later", Spec{Kind: Regex, Pattern: `/zz/a`}},
	)
	cases := []struct {
		path, want string
		params     string
	}{
		{"/v1/users/me", "exact-me", ""},
		{"/v1/users/42", "tpl-user", "id=42"},
		{"/v1/users/42/orders", "tpl-user-orders", "*=42"},
		{"/v1/users/42/orders/7/items", "tpl-orders-tail", "id=42 **=orders/7/items"},
		{"/v1/users/special", "tpl-users-special", ""},
		{"/v1/other/special", "tpl-literal-first", "x=other"},
		{"/v1/users", "prefix-v1-users", ""},
		{"/v1/users/", "prefix-v1-users", ""},
		{"/v1/things", "prefix-v1", ""},
		{"/v1", "prefix-v1", ""},
		{"/v10", "root", ""},
		{"/zz/a", "root", ""}, // a prefix, even "/", comes before any regex
		{"/elsewhere", "root", ""},
		{"/v1/users/public/../me", "exact-me", ""},
	}
	for _, c := range cases {
		m, ok, _ := tb.Lookup(req("GET", c.path))
		if !ok || m.Name != c.want {
			t.Errorf("%s: got %q (ok %v), want %q", c.path, m.Name, ok, c.want)
			continue
		}
		var ps []string
		for _, p := range m.Params {
			ps = append(ps, p.Name+"="+p.Value)
		}
		if got := strings.Join(ps, " "); got != c.params {
			t.Errorf("%s: params %q, want %q", c.path, got, c.params)
		}
	}
}

func TestRegexParamsAndOrder(t *testing.T) {
	tb := build(t,
		rt{"a", Spec{Kind: Regex, Pattern: `/files/(?P<name>[a-z]+)\.(?P<ext>txt|md)`}},
		rt{"b", Spec{Kind: Regex, Pattern: `/files/.*`}},
	)
	m, ok, _ := tb.Lookup(req("GET", "/files/readme.md"))
	if !ok || m.Name != "a" || m.Params.Get("name") != "readme" || m.Params.Get("ext") != "md" {
		t.Fatalf("got %+v", m)
	}
	if m, _, _ := tb.Lookup(req("GET", "/files/x.png")); m.Name != "b" {
		t.Fatalf("got %q", m.Name)
	}
	// anchored: no partial match
	if _, ok, _ := tb.Lookup(req("GET", "/x/files/a.md")); ok {
		t.Fatal("unanchored match")
	}
}

func TestPriorityOverrides(t *testing.T) {
	tb := build(t,
		rt{"exact", Spec{Kind: Exact, Pattern: "/a/b"}},
		rt{"prefix-hi", Spec{Kind: Prefix, Pattern: "/a/", Priority: 10}},
		rt{"regex-top", Spec{Kind: Regex, Pattern: `/a/b`, Priority: 20, Methods: []string{"DELETE"}}},
	)
	for _, c := range []struct{ method, want string }{{"GET", "prefix-hi"}, {"DELETE", "regex-top"}} {
		if m, _, _ := tb.Lookup(req(c.method, "/a/b")); m.Name != c.want {
			t.Errorf("%s: got %q, want %q", c.method, m.Name, c.want)
		}
	}
}

func TestConditions(t *testing.T) {
	tb := build(t,
		rt{"get", Spec{Kind: Exact, Pattern: "/r", Methods: []string{"GET", "HEAD"}}},
		rt{"post", Spec{Kind: Exact, Pattern: "/r", Methods: []string{"POST"}}},
		rt{"host", Spec{Kind: Exact, Pattern: "/h", Hosts: []string{"api.example.com"}}},
		rt{"wild", Spec{Kind: Exact, Pattern: "/h", Hosts: []string{"*.example.com"}}},
		rt{"hdr", Spec{Kind: Exact, Pattern: "/x", Headers: map[string]string{"X-Version": "2"}}},
		rt{"query", Spec{Kind: Exact, Pattern: "/x", Query: map[string]string{"beta": "*"}}},
		rt{"plain", Spec{Kind: Exact, Pattern: "/x"}},
		rt{"only-put", Spec{Kind: Exact, Pattern: "/put", Methods: []string{"PUT"}}},
	)
	cases := []struct {
		method, target string
		hdr            []string
		want           string
	}{
		{"GET", "/r", nil, "get"},
		{"POST", "/r", nil, "post"},
		{"GET", "http://api.example.com/h", nil, "host"},
		{"GET", "http://www.example.com/h", nil, "wild"},
		{"GET", "/x", []string{"X-Version", "2"}, "hdr"},
		{"GET", "/x?beta=1", nil, "query"},
		{"GET", "/x", []string{"X-Version", "3"}, "plain"},
	}
	for _, c := range cases {
		if m, _, _ := tb.Lookup(req(c.method, c.target, c.hdr...)); m.Name != c.want {
			t.Errorf("%s %s %v: got %q, want %q", c.method, c.target, c.hdr, m.Name, c.want)
		}
	}
	if _, ok, _ := tb.Lookup(req("GET", "http://example.com/h")); ok {
		t.Error("*.example.com matched example.com")
	}
	_, ok, allowed := tb.Lookup(req("DELETE", "/r"))
	if ok || strings.Join(allowed, ",") != "GET,HEAD,POST" {
		t.Errorf("DELETE /r: ok %v allowed %v", ok, allowed)
	}
	if _, ok, allowed := tb.Lookup(req("GET", "/put")); ok || strings.Join(allowed, ",") != "PUT" {
		t.Errorf("GET /put: allowed %v", allowed)
	}
}

// TestNormalisationCannotBypass: an admin route guarded by a header
// condition must not be reachable through a public prefix by path tricks.
func TestNormalisationCannotBypass(t *testing.T) {
	tb := build(t,
		rt{"public", Spec{Kind: Prefix, Pattern: "/public/"}},
		rt{"admin", Spec{Kind: Prefix, Pattern: "/admin/"}},
	)
	for _, p := range []string{"/public/../admin/users", "/public/%2e%2e/admin/users", "/public/./../admin/users", "//public//..//admin/users"} {
		u, _ := url.Parse(p)
		np, err := Normalize(u.EscapedPath())
		if err != nil {
			continue // refused outright is also safe
		}
		m, _, _ := tb.Lookup(&Request{Method: "GET", Path: np, Header: http.Header{}})
		if m.Name != "admin" {
			t.Errorf("%s reached %q, not the admin route", p, m.Name)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		routes []rt
		want   string
	}{
		{[]rt{{"a", Spec{Kind: Exact, Pattern: "/x"}}, {"b", Spec{Kind: Exact, Pattern: "/x"}}}, "can never be told apart"},
		{[]rt{{"a", Spec{Kind: Template, Pattern: "/u/{id}"}}, {"b", Spec{Kind: Template, Pattern: "/u/{name}"}}}, "can never be told apart"},
		{[]rt{{"a", Spec{Kind: Template, Pattern: "/u/*"}}, {"b", Spec{Kind: Template, Pattern: "/u/{name}", Methods: []string{"GET"}}}}, "can never be told apart"},
		{[]rt{{"a", Spec{Kind: Prefix, Pattern: "/p/"}}, {"b", Spec{Kind: Prefix, Pattern: "/p"}}}, "can never be told apart"},
		{[]rt{{"a", Spec{Kind: Regex, Pattern: "/r.*"}}, {"b", Spec{Kind: Regex, Pattern: "/r.*"}}}, "can never be told apart"},
		{[]rt{{"a", Spec{Kind: Template, Pattern: "/a/**/b"}}}, "must be the last segment"},
		{[]rt{{"a", Spec{Kind: Template, Pattern: "/a/x{id}"}}}, "mixes a literal"},
		{[]rt{{"a", Spec{Kind: Template, Pattern: "/a/{}"}}}, "bad parameter"},
		{[]rt{{"a", Spec{Kind: Regex, Pattern: "/a/(("}}}, "regex"},
		{[]rt{{"a", Spec{Kind: Exact, Pattern: "a"}}}, "must start with /"},
		{[]rt{{"a", Spec{Kind: Exact, Pattern: "/a", Methods: []string{"get"}}}}, "upper-case"},
		{[]rt{{"a", Spec{Kind: Exact, Pattern: "/a", Hosts: []string{"a b"}}}}, "host"},
	}
	for i, c := range cases {
		var es []Entry[string]
		for _, r := range c.routes {
			es = append(es, Entry[string]{Name: r.name, Spec: r.spec})
		}
		_, err := Build(es)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: error %v, want %q", i, err, c.want)
		}
	}
	// distinct conditions are fine
	build(t, rt{"a", Spec{Kind: Exact, Pattern: "/x", Methods: []string{"GET"}}}, rt{"b", Spec{Kind: Exact, Pattern: "/x", Methods: []string{"POST"}}})
	build(t, rt{"a", Spec{Kind: Exact, Pattern: "/x"}}, rt{"b", Spec{Kind: Exact, Pattern: "/x", Priority: 1}})
}

// tableOf builds n routes of mixed kinds, like a large API.
func tableOf(b testing.TB, n int) *Table[int] {
	var es []Entry[int]
	for i := 0; i < n; i++ {
		var s Spec
		switch i % 4 {
		case 0:
			s = Spec{Kind: Exact, Pattern: fmt.Sprintf("/api/v%d/resource%d", i%7, i)}
		case 1:
			s = Spec{Kind: Template, Pattern: fmt.Sprintf("/api/v%d/things%d/{id}/detail", i%7, i)}
		case 2:
			s = Spec{Kind: Prefix, Pattern: fmt.Sprintf("/static/set%d/", i)}
		case 3:
			s = Spec{Kind: Template, Pattern: fmt.Sprintf("/svc%d/{tenant}/**", i)}
		}
		es = append(es, Entry[int]{Name: fmt.Sprint(i), Spec: s, Value: i})
	}
	t, err := Build(es)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		t := tableOf(b, n)
		base := (n/4 - 1) * 4 // the last route of each kind
		reqs := []*Request{
			{Method: "GET", Path: fmt.Sprintf("/api/v%d/resource%d", base%7, base), Header: http.Header{}},
			{Method: "GET", Path: fmt.Sprintf("/api/v%d/things%d/42/detail", (base+1)%7, base+1), Header: http.Header{}},
			{Method: "GET", Path: fmt.Sprintf("/static/set%d/css/site.css", base+2), Header: http.Header{}},
			{Method: "GET", Path: fmt.Sprintf("/svc%d/acme/a/b/c", base+3), Header: http.Header{}},
		}
		for _, r := range reqs {
			if _, ok, _ := t.Lookup(r); !ok {
				b.Fatalf("no match for %s", r.Path)
			}
		}
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				t.Lookup(reqs[i%len(reqs)])
			}
		})
	}
}
