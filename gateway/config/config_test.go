package config

import (
	"strings"
	"testing"
)

func TestParseErrorsNameFileLineAndPath(t *testing.T) {
	cases := []struct {
		yaml string
		want string
	}{
		{"", "f.yaml: empty configuration"},
		{"routes:\n  - name: a\n    match: {path: /a}\n    colour: red\n    respond: {}\n", "f.yaml:4: field colour not found in Route"},
		{"listeners: [{address: nope}]\n", `f.yaml:1: listeners[0].address: "nope" is not host:port`},
		{"routes:\n  - name: a\n    match: {path: a}\n    respond: {}\n", "f.yaml:3: routes[0].match: route \"a\": exact pattern \"a\" must start with /"},
		{"routes:\n  - name: a\n    match: {path: /a, prefix: /b}\n    respond: {}\n", "f.yaml:3: routes[0].match: route \"a\" needs exactly one of path, prefix, template or regex (has 2)"},
		{"routes:\n  - name: a\n    match: {path: /a}\n    service: missing\n", "f.yaml:4: routes[0].service: no service named \"missing\""},
		{"routes:\n  - {name: a, match: {path: /a}, respond: {}}\n  - {name: b, match: {path: /a}, respond: {}}\n", "f.yaml:3: routes[1].match: routes \"a\" and \"b\" can never be told apart"},
		{"routes:\n  - {name: a, match: {path: /a}, respond: {}}\n  - {name: a, match: {path: /b}, respond: {}}\n", `f.yaml:3: routes[1].name: route "a" defined twice`},
		{"services:\n  - name: s\n    instances:\n      - address: 10.0.0.2\n", `f.yaml:4: services[0].instances[0].address: "10.0.0.2" is not host:port`},
		{"services:\n  - name: s\n    instances: [{address: 'a:1', weight: 0}]\n", `services[0].instances: every instance of "s" has weight 0`},
		{"limits: {idle_timeout: forever}\n", `f.yaml:1: "forever" is not a duration`},
		{"admin: {address: '0.0.0.0:9901'}\n", "admin.token: required when the admin API listens on 0.0.0.0:9901"},
		{"network: {address: 10.0.0.1}\n", `network.address: "10.0.0.1" is not an IPv4 address with prefix`},
		{"routes:\n  - {name: a, match: {template: '/u/{id}'}, service: s, rewrite: '/x/{name}'}\nservices: [{name: s, instances: [{address: 'a:1'}]}]\n", "routes[0].rewrite: {name} in \"/x/{name}\" is not a parameter"},
		{"routes:\n  - {name: 'a b', match: {path: /}, respond: {}}\n", "routes[0].name: \"a b\" may hold only"},
		{"routes: [{name: a, match: {path: /}, respond: {status: 99}}]\n", "routes[0].respond.status: 99 is not an HTTP status"},
		{"listeners: [{address: ':443', tls: {cert_pem: x}}]\n", "listeners[0].tls: cert_pem and key_pem are both required"},
		{"limits: {max_routes: 1}\nroutes: [{name: a, match: {path: /a}, respond: {}}, {name: b, match: {path: /b}, respond: {}}]\n", "routes: 2 routes exceed limits.max_routes (1)"},
		{"routes: [[]]\n", "f.yaml:1: cannot unmarshal !!seq into config.Route"},
		{"\t\x00", "f.yaml"},
	}
	for _, c := range cases {
		_, err := Parse("f.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n  got  %v\n  want %s", c.yaml, err, c.want)
		}
	}
}

func TestDefaultsAndClone(t *testing.T) {
	c, err := Parse("f", []byte("routes: [{name: h, match: {path: /}, respond: {}}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listeners[0].Address != ":80" || c.Limits.MaxRoutes != DefaultMaxRoutes || c.Routes[0].Respond.Status != 200 ||
		c.Limits.ReadHeaderTimeout.D().Seconds() != 10 {
		t.Fatalf("defaults: %+v", c)
	}
	cp := c.Clone()
	cp.Routes[0].Name = "changed"
	if c.Routes[0].Name != "h" {
		t.Fatal("clone shares routes")
	}
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("again", out); err != nil {
		t.Fatalf("marshalled config does not parse: %v\n%s", err, out)
	}
}

func TestMarshalRedactsSecrets(t *testing.T) {
	c, err := Parse("f", []byte("admin: {address: '0.0.0.0:1', token: 'sixteen-chars-or-more'}\nlisteners: [{address: ':443', tls: {cert_pem: CERT, key_pem: SECRETKEY}}]\nroutes: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := c.Marshal()
	if strings.Contains(string(out), "SECRETKEY") || strings.Contains(string(out), "sixteen-chars") {
		t.Fatalf("secret in output:\n%s", out)
	}
}

func TestParseRoute(t *testing.T) {
	r, err := ParseRoute("{name: x, match: {prefix: /x/}, respond: {body: hi}}")
	if err != nil || r.Name != "x" || r.Respond.Status != 200 {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{"", "{name: x, bogus: 1}", "[1, 2]", "{name: [}"} {
		if _, err := ParseRoute(bad); err == nil {
			t.Errorf("ParseRoute(%q): no error", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"routes: [{name: a, match: {path: /}, respond: {}}]",
		"listeners: [{address: ':80'}]\nroutes:\n  - {name: a, match: {template: '/u/{id}/**'}, service: s, rewrite: '/v/{id}'}\nservices: [{name: s, instances: [{address: 'h:1', weight: 3}]}]",
		"routes: [{name: r, match: {regex: '/(?P<x>[a-z]+)', methods: [GET], hosts: ['*.a.b'], headers: {X: '*'}, query: {q: '1'}}, respond: {status: 204}}]",
		"limits: {max_routes: -1}",
		"network: {address: 10.0.0.1/24, gateway: 10.0.0.2, mac: '02:00:00:00:00:01'}",
		"admin: {address: '127.0.0.1:0'}",
		"&a [*a]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		// whatever parses must survive a round trip
		out, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse("again", out); err != nil && c.Admin.Token == "" && !hasTLS(c) {
			t.Fatalf("round trip: %v\n%s", err, out)
		}
	})
}

func hasTLS(c *Config) bool {
	for _, l := range c.Listeners {
		if l.TLS != nil {
			return true
		}
	}
	return false
}
