package config

import (
	"strings"
	"testing"
)

// TestMediationErrors: each mistake in the mediation section is named by
// its field path.
func TestMediationErrors(t *testing.T) {
	cases := []struct {
		yaml string
		want string
	}{
		{"routes: [{name: r, match: {path: /}, respond: {}, mediation: nope}]\n", `routes[0].mediation: no policy named "nope"`},
		{"mediation: {schemas: [{name: s, document: '{'}]}\n", "mediation.schemas[0].document: not JSON"},
		{"mediation: {schemas: [{name: s, document: '[1]'}]}\n", "mediation.schemas[0].document: a schema is a JSON object or a boolean"},
		{"mediation: {schemas: [{name: s, document: 'true'}, {name: s, document: 'true'}]}\n", `mediation.schemas[1].name: schema "s" defined twice`},
		{"mediation: {protos: [{name: p, descriptor_set: '!!'}]}\n", "mediation.protos[0].descriptor_set: not base64"},
		{"mediation: {cache: {max_bytes: 10, max_entry_bytes: 20}}\n", "mediation.cache.max_entry_bytes: 20 is outside 0..max_bytes (10)"},
		{"mediation: {policies: [{name: p, request: {schema: missing}}]}\n", `mediation.policies[0].request.schema: no schema named "missing"`},
		{"mediation: {policies: [{name: p, request: {convert: {to: accept}}}]}\n", `mediation.policies[0].request.convert.to: "accept" chooses`},
		{"mediation: {policies: [{name: p, response: {convert: {to: yaml}}}]}\n", `mediation.policies[0].response.convert.to: "yaml" is not json, xml, protobuf or accept`},
		{"mediation: {policies: [{name: p, response: {convert: {to: protobuf}}}]}\n", "mediation.policies[0].response.convert.message: required to convert to protobuf"},
		{"mediation: {policies: [{name: p, response: {convert: {to: xml, xml_root: '1x'}}}]}\n", `xml_root: "1x" is not an XML element name`},
		{"mediation: {policies: [{name: p, response: {convert: {to: json, proto: nope, message: a.B}}}]}\n", `response.convert.proto: no descriptor set named "nope"`},
		{"mediation: {policies: [{name: p, request: {transforms: [{op: header.explode, name: X}]}}]}\n", `request.transforms[0].op: "header.explode" is not one of`},
		{"mediation: {policies: [{name: p, response: {transforms: [{op: query.add, name: q, value: v}]}}]}\n", "response.transforms[0].op: query.add changes the request"},
		{"mediation: {policies: [{name: p, request: {transforms: [{op: status.set, status: 200}]}}]}\n", "request.transforms[0].op: status.set changes the response"},
		{"mediation: {policies: [{name: p, request: {transforms: [{op: header.set, value: v}]}}]}\n", "request.transforms[0].name: required by header.set"},
		{"mediation: {policies: [{name: p, request: {transforms: [{op: header.rename, name: A}]}}]}\n", "request.transforms[0].to: required by header.rename"},
		{"mediation: {policies: [{name: p, request: {transforms: [{op: header.set, name: Content-Length, value: '1'}]}}]}\n", "Content-Length is framing"},
		{"mediation: {policies: [{name: p, request: {transforms: [{op: body.set, name: customer.id, value: v}]}}]}\n", "body fields are JSON pointers"},
		{"mediation: {policies: [{name: p, request: {transforms: [{op: body.set, name: /a, value: v, type: date}]}}]}\n", `request.transforms[0].type: "date" is not string`},
		{"mediation: {policies: [{name: p, request: {transforms: [{op: header.set, name: X, value: '{secret}'}]}}]}\n", "request.transforms[0].value: {secret} is not a known value"},
		{"mediation: {policies: [{name: p, request: {transforms: [{op: header.set, name: X, value: '{param.id'}]}}]}\n", `unclosed "{"`},
		{"mediation: {policies: [{name: p, request: {transforms: [{op: header.set, name: X, value: v, on_error: panic}]}}]}\n", `on_error: "panic" is not skip or fail`},
		{"mediation: {policies: [{name: p, response: {transforms: [{op: status.set, status: 700}]}}]}\n", "response.transforms[0].status: 700 is not an HTTP status"},
		{"mediation: {policies: [{name: p, cache: {}}]}\n", "mediation.policies[0].cache.ttl: required and positive"},
		{"mediation: {policies: [{name: p, cache: {ttl: 1m, methods: [POST]}}]}\n", `cache.methods[0]: "POST": only GET and HEAD`},
		{"mediation: {policies: [{name: p, cache: {ttl: 1m, key: [cookie]}}]}\n", `cache.key[0]: "cookie" is not method, path, query, identity or header:NAME`},
		{"mediation: {policies: [{name: p, cache: {ttl: 1m, max_ttl: 1s}}]}\n", "cache.max_ttl: 1s is below ttl 1m0s"},
		{"mediation: {policies: [{name: p, cache: {ttl: 1m, statuses: [206]}}]}\n", "cache.statuses[0]: 206 cannot be cached"},
		{"mediation: {policies: [{name: p, errors: {body: '${secret}'}}]}\n", "errors.body: ${secret} is not one of"},
		{"mediation: {policies: [{name: p, errors: {body: '${detail'}}]}\n", `errors.body: unclosed "${"`},
		{"mediation: {policies: [{name: p, errors: {}}]}\n", "mediation.policies[0].errors.body: required"},
	}
	for _, c := range cases {
		yaml := c.yaml
		if !strings.Contains(yaml, "routes:") {
			yaml += "routes: [{name: r, match: {path: /}, respond: {}}]\n"
		}
		_, err := Parse("f.yaml", []byte(yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n  got  %v\n  want %s", c.yaml, err, c.want)
		}
	}
}

func TestMediationDefaults(t *testing.T) {
	c, err := Parse("f", []byte(`mediation:
  policies:
    - name: p
      request: {convert: {to: xml}, transforms: [{op: body.set, name: /a, value: v}]}
      cache: {ttl: 1m}
      errors: {body: x}
routes: [{name: r, match: {path: /}, respond: {}, mediation: p}]
`))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Mediation
	p := m.Policies[0]
	if m.Cache.MaxBytes != DefaultCacheMaxBytes || m.Cache.MaxEntries != DefaultCacheMaxEntries || p.Request.MaxBodyBytes != DefaultRequestMediateBytes ||
		p.Request.Convert.XMLRoot != "root" || p.Request.Transforms[0].OnError != "skip" || p.Request.Transforms[0].Type != "string" ||
		strings.Join(p.Cache.Methods, ",") != "GET,HEAD" || strings.Join(p.Cache.Key, ",") != "method,path,query" ||
		p.Cache.LockTimeout.D().Seconds() != 5 || p.Errors.ContentType != "application/json" {
		t.Errorf("defaults: %+v %+v %+v", m.Cache, p.Request, p.Cache)
	}
}
