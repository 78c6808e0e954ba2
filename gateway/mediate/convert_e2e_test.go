package mediate_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/raygate/raygate/gateway/mediate/protoconv"
)

func convertYAML() string {
	return `listeners: [{address: "127.0.0.1:0"}]
mediation:
  protos: [{name: demo, descriptor_set: "` + base64.StdEncoding.EncodeToString(protoconv.DemoDescriptorSet()) + `"}]
  policies:
    - name: tojson
      request: {convert: {to: json}}
      response: {convert: {to: accept, xml_root: order}}
    - name: proto
      request: {convert: {to: json, proto: demo, message: raygate.demo.v1.Order}}
      response: {convert: {to: accept, proto: demo, message: raygate.demo.v1.Order}}
    - name: toxml
      response: {convert: {to: xml, xml_root: reply}}
    - name: shaped
      request:
        transforms:
          - {op: header.set, name: X-Customer, value: "{param.id}"}
          - {op: header.remove, name: X-Debug}
          - {op: query.rename, name: q, to: search}
          - {op: query.add, name: via, value: "gw-{route}"}
          - {op: body.set, name: /customer/id, value: "{param.id}"}
          - {op: body.set, name: /qty, value: "{query.n}", type: number}
          - {op: body.remove, name: /internal}
          - {op: body.rename, name: /nm, to: name}
          - {op: body.move, name: /addr, to: /customer/address}
      response:
        transforms:
          - {op: header.remove, name: X-Internal}
          - {op: header.add, name: X-Served-By, value: raygate}
          - {op: body.remove, name: /customer/id}
          - {op: status.set, status: 201, when: 200}
    - name: strict
      request:
        transforms:
          - {op: body.remove, name: /must, on_error: fail}
    - name: rewritten
      request:
        transforms:
          - {op: path.rewrite, value: "/echo/v2/{param.id}"}
routes:
  - {name: tojson, match: {prefix: /echo/tojson}, service: b, mediation: tojson}
  - {name: proto, match: {prefix: /echo/proto}, service: b, mediation: proto}
  - {name: toxml, match: {prefix: /json}, service: b, mediation: toxml}
  - {name: xmlsrc, match: {prefix: /xml}, service: b, mediation: tojson}
  - {name: shaped, match: {template: "/echo/shaped/{id}"}, service: b, mediation: shaped}
  - {name: strict, match: {prefix: /echo/strict}, service: b, mediation: strict}
  - {name: rewritten, match: {template: "/echo/old/{id}"}, service: b, mediation: rewritten}
services: [{name: b, instances: [{address: "BACKEND"}]}]
`
}

func TestConversion(t *testing.T) {
	b := newBackend(t)
	gw, _ := startGateway(t, b, convertYAML())

	// XML in, JSON to the backend, JSON back (the default of accept)
	r := do(t, "POST", gw+"/echo/tojson", `<order id="7"><sku>a</sku><sku>b</sku></order>`, "Content-Type", "application/xml")
	s := b.seen("/echo")
	if r.status != 200 || s.ContentType != "application/json" || !json.Valid([]byte(s.Body)) || !strings.Contains(s.Body, `"@id":"7"`) || !strings.Contains(s.Body, `["a","b"]`) {
		t.Fatalf("XML to JSON: %d, backend got %s %s", r.status, s.ContentType, s.Body)
	}
	// the same, asking for XML back: the round trip gives the document
	r = do(t, "POST", gw+"/echo/tojson", `<order id="7"><sku>a</sku><sku>b</sku></order>`, "Content-Type", "application/xml", "Accept", "application/xml")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") || !strings.Contains(r.body, `<order id="7"><sku>a</sku><sku>b</sku></order>`) {
		t.Errorf("JSON back to XML: %d %s %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	if !strings.Contains(r.header.Get("Vary"), "Accept") {
		t.Errorf("no Vary: Accept on a negotiated response: %v", r.header)
	}
	// a form becomes JSON
	do(t, "POST", gw+"/echo/tojson", "a=1&b=x&b=y", "Content-Type", "application/x-www-form-urlencoded")
	if s := b.seen("/echo"); s.Body != `{"a":"1","b":["x","y"]}` {
		t.Errorf("form to JSON: %s", s.Body)
	}
	// binary passes untouched
	do(t, "POST", gw+"/echo/tojson", "\x00\x01raw", "Content-Type", "application/octet-stream")
	if s := b.seen("/echo"); s.Body != "\x00\x01raw" || s.ContentType != "application/octet-stream" {
		t.Errorf("binary changed: %q %s", s.Body, s.ContentType)
	}
	// malformed input and hostile XML are 400s with a specific message
	for _, bad := range []string{`<order><a></order>`, `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`, strings.Repeat("<a>", 200)} {
		r := do(t, "POST", gw+"/echo/tojson", bad, "Content-Type", "application/xml")
		if r.status != 400 || r.json["type"] != "https://raygate.dev/problems/malformed-body" || !strings.Contains(r.json["detail"].(string), "XML") {
			t.Errorf("%q: %d %s", bad[:min(len(bad), 30)], r.status, r.body)
		}
	}
	// nothing acceptable
	if r := do(t, "POST", gw+"/echo/tojson", `{}`, "Content-Type", "application/json", "Accept", "image/png"); r.status != 406 {
		t.Errorf("Accept image/png: %d %s", r.status, r.body)
	}

	// a JSON backend answered as XML; an XML backend answered as JSON
	r = do(t, "GET", gw+"/json", "")
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") || !strings.Contains(r.body, "<reply><order><id>A1</id><items><sku>x</sku><sku>y</sku></items></order></reply>") {
		t.Errorf("JSON backend as XML: %s %q", r.header.Get("Content-Type"), r.body)
	}
	r = do(t, "GET", gw+"/xml", "", "Accept", "application/json")
	if r.header.Get("Content-Type") != "application/json" || r.body != `{"@id":"A1","sku":["x","y"]}` {
		t.Errorf("XML backend as JSON: %s %q", r.header.Get("Content-Type"), r.body)
	}

	// protobuf in, JSON to the backend; JSON echoed back as protobuf
	set, err := protoconv.NewSet(protoconv.DemoDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := set.Message("raygate.demo.v1.Order")
	wire, err := msg.FromJSON([]byte(`{"id":"p1","quantity":"3","items":[{"sku":"k","count":2}]}`), protoconv.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r = do(t, "POST", gw+"/echo/proto", string(wire), "Content-Type", "application/x-protobuf", "Accept", "application/x-protobuf")
	s = b.seen("/echo")
	if r.status != 200 || s.ContentType != "application/json" || !strings.Contains(s.Body, `"id":"p1"`) {
		t.Fatalf("protobuf to JSON: %d, backend got %s %s", r.status, s.ContentType, s.Body)
	}
	if r.header.Get("Content-Type") != "application/x-protobuf" || r.body != string(wire) {
		t.Errorf("JSON back to protobuf: %s, %x vs %x", r.header.Get("Content-Type"), r.body, wire)
	}
	if r := do(t, "POST", gw+"/echo/proto", "\xff\xff\xff", "Content-Type", "application/x-protobuf"); r.status != 400 || !strings.Contains(r.body, "protobuf") {
		t.Errorf("garbage protobuf: %d %s", r.status, r.body)
	}
}

func TestTransforms(t *testing.T) {
	b := newBackend(t)
	gw, sys := startGateway(t, b, convertYAML())

	r := do(t, "POST", gw+"/echo/shaped/c42?q=shoes&n=5&keep=1",
		`{"nm":"Ann","internal":{"x":1},"addr":"Main St","customer":{"tier":"gold"}}`,
		"Content-Type", "application/json", "X-Debug", "1")
	s := b.seen("/echo")
	if s.Header.Get("X-Customer") != "c42" || s.Header.Get("X-Debug") != "" {
		t.Errorf("request headers: %v", s.Header)
	}
	q, _ := url.ParseQuery(s.RawQuery)
	if q.Get("search") != "shoes" || q.Get("q") != "" || q.Get("via") != "gw-shaped" || q.Get("keep") != "1" || !strings.HasPrefix(s.RawQuery, "search=shoes") {
		t.Errorf("query: %q", s.RawQuery)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(s.Body), &body); err != nil {
		t.Fatalf("backend body %q: %v", s.Body, err)
	}
	cust, _ := body["customer"].(map[string]any)
	if body["name"] != "Ann" || body["nm"] != nil || body["internal"] != nil || body["qty"] != float64(5) ||
		cust["id"] != "c42" || cust["address"] != "Main St" || cust["tier"] != "gold" || body["addr"] != nil {
		t.Errorf("request body: %s", s.Body)
	}
	// the response side: header removed and added, a field removed, the
	// status rewritten
	if r.status != 201 || r.header.Get("X-Internal") != "" || r.header.Get("X-Served-By") != "raygate" || strings.Contains(r.body, "c42") {
		t.Errorf("response: %d %v %s", r.status, r.header, r.body)
	}

	// a step that cannot apply: skip by default, fail when told
	r = do(t, "POST", gw+"/echo/shaped/c1", `not json`, "Content-Type", "text/plain")
	if r.status != 201 || b.seen("/echo").Body != "not json" {
		t.Errorf("skipped steps: %d %q", r.status, b.seen("/echo").Body)
	}
	r = do(t, "POST", gw+"/echo/strict", `{"other":1}`, "Content-Type", "application/json")
	if r.status != 400 || r.json["type"] != "https://raygate.dev/problems/transform-failed" {
		t.Errorf("on_error fail: %d %s", r.status, r.body)
	}
	// a header value from a client-controlled parameter cannot inject
	do(t, "POST", gw+"/echo/shaped/a%0d%0aX-Evil:%201", `{}`, "Content-Type", "application/json")
	if b.seen("/echo").Header.Get("X-Evil") != "" {
		t.Error("header injection through a path parameter")
	}
	// path rewrite from a parameter cannot climb out
	do(t, "GET", gw+"/echo/old/7", "")
	if p := b.seen("/echo").Path; p != "/echo/v2/7" {
		t.Errorf("rewrite: %q", p)
	}
	// (a parameter holding "/" or ".." is refused by the path normaliser
	// before any stage; the transform package tests the escaping itself)

	var out strings.Builder
	sysExec(t, sys, &out, "mediate transforms shaped")
	if !strings.Contains(out.String(), "request:") || !strings.Contains(out.String(), "body.move") || !strings.Contains(out.String(), "status.set") {
		t.Errorf("mediate transforms:\n%s", out.String())
	}
	out.Reset()
	sysExec(t, sys, &out, "mediate policies")
	if !regexpMatch(`shaped\s+shaped\s+`, out.String()) {
		t.Errorf("mediate policies:\n%s", out.String())
	}
}
