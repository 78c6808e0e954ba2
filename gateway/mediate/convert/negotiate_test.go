package convert

import "testing"

func TestNegotiate(t *testing.T) {
	jx := []Format{JSON, XML}
	xj := []Format{XML, JSON}
	for _, c := range []struct {
		accept  string
		offered []Format
		want    Format
		ok      bool
	}{
		{"", jx, JSON, true},
		{"", xj, XML, true},
		{"  ", jx, JSON, true},
		{"application/json", jx, JSON, true},
		{"application/xml", jx, XML, true},
		{"text/xml", jx, XML, true},
		{"APPLICATION/XML", jx, XML, true},
		{"*/*", jx, JSON, true},
		{"*/*", xj, XML, true},
		{"*", xj, XML, true},
		{"application/*", xj, XML, true},
		{"text/*", jx, XML, true},
		{"image/png", jx, Binary, false},
		{"text/html", jx, Binary, false},
		// q-values
		{"application/json;q=0.5, application/xml", jx, XML, true},
		{"application/json;q=0.5, application/xml;q=0.51", jx, XML, true},
		{"application/json; q=1.0, application/xml; q=0.9", xj, JSON, true},
		{"application/xml;q=0.8, application/json;q=0.8", jx, JSON, true}, // tie: server order
		{"application/xml;q=0.8, application/json;q=0.8", xj, XML, true},
		{"application/xml;q=.9, application/json;q=.8", jx, XML, true},
		// q=0 excludes
		{"application/json;q=0", jx, Binary, false}, // XML is not named and nothing else matches
		{"application/json;q=0, */*", jx, XML, true},
		{"application/json;q=0", []Format{JSON}, Binary, false},
		{"*/*;q=0", jx, Binary, false},
		{"application/*;q=0, application/json", jx, JSON, true},
		{"application/xml;q=0, */*", []Format{XML}, Binary, false},
		{"application/xml;q=0, text/xml", []Format{XML}, Binary, false}, // we would send application/xml
		{"text/xml;q=0, application/xml", []Format{XML}, XML, true},
		// specificity
		{"*/*;q=0.1, application/json", xj, JSON, true},
		{"application/*;q=0.2, */*;q=0.9", xj, XML, true},
		{"*/*, application/xml", jx, XML, true}, // named beats wildcard at equal q
		{"application/json;q=0.3, application/*;q=0.9", jx, XML, true},
		// other formats
		{"application/x-protobuf", []Format{JSON, Protobuf}, Protobuf, true},
		{"application/vnd.google.protobuf", []Format{JSON, Protobuf}, Protobuf, true},
		{"application/octet-stream", []Format{JSON, Binary}, Binary, true},
		{"multipart/*", []Format{JSON, Multipart, Form}, Multipart, true},
		// parameters other than q are ignored; accept-ext after q too
		{"application/json; charset=utf-8; q=0.5; foo=bar, application/xml; q=0.4", xj, JSON, true},
		{`application/json; x="a,b", application/xml;q=0.1`, xj, JSON, true},
		// malformed entries are skipped
		{"garbage, application/xml", jx, XML, true},
		{"application/json;q=2, application/xml", jx, XML, true},
		{"application/json;q=abc, application/xml;q=0.1", jx, XML, true},
		{"*/json, application/xml", jx, XML, true},
		{"garbage", xj, XML, true}, // nothing parses: as if absent
		{",,", jx, JSON, true},
		// nothing offered
		{"*/*", nil, Binary, false},
		{"", nil, Binary, false},
		// a browser
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", jx, XML, true},
	} {
		got, ok := Negotiate(c.accept, c.offered...)
		if got != c.want || ok != c.ok {
			t.Errorf("Negotiate(%q, %v) = %v, %v; want %v, %v", c.accept, c.offered, got, ok, c.want, c.ok)
		}
	}
}

func TestParseQ(t *testing.T) {
	for _, c := range []struct {
		s  string
		q  int
		ok bool
	}{
		{"0", 0, true}, {"1", 1000, true}, {"0.5", 500, true}, {"0.123", 123, true}, {"1.000", 1000, true},
		{"0.", 0, true}, {".5", 500, true}, {"1.001", 0, false}, {"0.1234", 0, false}, {"2", 0, false},
		{"", 0, false}, {"-0", 0, false}, {"0.5x", 0, false}, {"1e0", 0, false},
	} {
		q, ok := parseQ(c.s)
		if q != c.q || ok != c.ok {
			t.Errorf("parseQ(%q) = %d, %v; want %d, %v", c.s, q, ok, c.q, c.ok)
		}
	}
}
