package route

import (
	"net/http"
	"strings"
	"testing"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/public/%2e%2e/admin", "//x//y/", "/a/./b/.", "/%2F", "/%252e", "/a%", "/\x00", "/..", "/a/b/../../c/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize(in)
		if err != nil {
			return
		}
		if !strings.HasPrefix(out, "/") {
			t.Fatalf("%q -> %q: not absolute", in, out)
		}
		for _, bad := range []string{"//", "/./", "/../", "\\", "\x00"} {
			if strings.Contains(out, bad) {
				t.Fatalf("%q -> %q: contains %q", in, out, bad)
			}
		}
		if strings.HasSuffix(out, "/.") || strings.HasSuffix(out, "/..") {
			t.Fatalf("%q -> %q: dot segment at the end", in, out)
		}
	})
}

func FuzzLookup(f *testing.F) {
	entries := []Entry[string]{
		{Name: "exact", Spec: Spec{Kind: Exact, Pattern: "/a/b"}},
		{Name: "tpl", Spec: Spec{Kind: Template, Pattern: "/a/{x}/c"}},
		{Name: "tail", Spec: Spec{Kind: Template, Pattern: "/t/*/**"}},
		{Name: "prefix", Spec: Spec{Kind: Prefix, Pattern: "/p/"}},
		{Name: "regex", Spec: Spec{Kind: Regex, Pattern: `/r/(?P<n>[0-9]+)`}},
		{Name: "get", Spec: Spec{Kind: Exact, Pattern: "/m", Methods: []string{"GET"}}},
	}
	for i := range entries {
		entries[i].Value = entries[i].Name
	}
	tb, err := Build(entries)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"/a/b", "/a/zz/c", "/t/1/2/3", "/p", "/p/q", "/r/12", "/m", "/", "/a//b"} {
		f.Add("GET", s)
	}
	f.Fuzz(func(t *testing.T, method, raw string) {
		p, err := Normalize(raw)
		if err != nil {
			return
		}
		m, ok, _ := tb.Lookup(&Request{Method: method, Path: p, Header: http.Header{}})
		if !ok {
			return
		}
		switch m.Name {
		case "exact":
			if p != "/a/b" {
				t.Fatalf("exact matched %q", p)
			}
		case "prefix":
			if p != "/p" && !strings.HasPrefix(p, "/p/") {
				t.Fatalf("prefix matched %q", p)
			}
		case "tpl":
			if !strings.HasPrefix(p, "/a/") || !strings.HasSuffix(p, "/c") || m.Params.Get("x") == "" {
				t.Fatalf("template matched %q with %v", p, m.Params)
			}
		case "get":
			if method != "GET" {
				t.Fatalf("method route matched %s", method)
			}
		}
	})
}
