//go:build imagetest

package imagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raygate/raygate/gateway/mediate/protoconv"
	"github.com/raygate/raygate/tools/demo"
	"github.com/raygate/raygate/tools/dnstest"
	"github.com/raygate/raygate/tools/qemu"
)

// repoRoot is where the Makefile is.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// guest is one booted image.
type guest struct {
	t         *testing.T
	target    string
	port      int
	adminPort int
	stdin     io.WriteCloser
	log       *qemu.Log
	started   time.Time
}

// buildImage runs `make image` for target with cfg embedded into dir.
func buildImage(t *testing.T, target, cfg, dir string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "image", "TARGET="+target, "CONFIG="+cfg, "OUT="+dir)
	cmd.Dir = repoRoot(t)
	t.Logf("build: %s", strings.Join(cmd.Args, " "))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	return filepath.Join(dir, "raygate-"+target+".elf")
}

// boot starts QEMU on image; the guest is killed when the test ends.
func boot(t *testing.T, target, image string) *guest {
	t.Helper()
	g := &guest{t: t, target: target, port: freePort(t), adminPort: freePort(t), log: &qemu.Log{}}
	accel := os.Getenv("RAYGATE_ACCEL") // default: software emulation
	bin, args, err := qemu.Args(qemu.Options{Target: target, Image: image, Accel: accel, HostPort: g.port, GuestPort: 80,
		Extra: [][2]int{{g.adminPort, 9901}}, NoReboot: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boot: %s", qemu.CommandLine(bin, args))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = g.log, g.log
	if g.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	g.started = time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		cancel()
		if t.Failed() {
			t.Logf("console log of %s:\n%s", target, g.log.String())
		}
	})
	return g
}

// waitFor waits until the console log contains s after offset from.
func (g *guest) waitFor(from int, s string, limit time.Duration) string {
	g.t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if out := g.log.String(); len(out) >= from && strings.Contains(out[from:], s) {
			return out[from:]
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.t.Fatalf("%s: %q not seen on the console within %s", g.target, s, limit)
	return ""
}

// run types a command on the console and returns what it printed, up to the
// next prompt.
func (g *guest) run(cmd string) string {
	g.t.Helper()
	from := g.log.Len()
	if _, err := io.WriteString(g.stdin, cmd+"\r"); err != nil {
		g.t.Fatal(err)
	}
	out := g.waitFor(from, "raygate> ", 30*time.Second)
	return out[:strings.Index(out, "raygate> ")]
}

func (g *guest) url(p string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", g.port, p) }

var client = &http.Client{Timeout: 30 * time.Second}

func TestImages(t *testing.T) {
	for _, target := range qemu.Targets {
		t.Run(target, func(t *testing.T) { testImage(t, target) })
	}
}

func testImage(t *testing.T, target string) {
	// a backend on the host, reached by the guest at 10.0.0.2
	ln, err := demo.Serve("hostbackend", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	backendPort := ln.Addr().(*net.TCPAddr).Port

	// two instances found by DNS (SRV) through the guest's netstack, one
	// of which is stopped during the test
	pool := []*http.Server{{Handler: &demo.Backend{Name: "pool-1"}}, {Handler: &demo.Backend{Name: "pool-2"}}}
	poolPorts := map[string]uint16{}
	for i, srv := range pool {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		defer srv.Close()
		poolPorts[fmt.Sprintf("h%d.test", i+1)] = uint16(ln.Addr().(*net.TCPAddr).Port)
	}
	dns, err := dnstest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	dns.SetA("h1.test", "10.0.0.2")
	dns.SetA("h2.test", "10.0.0.2")
	dns.SetSRV("_http._tcp.pool.test", poolPorts)
	dns.SetTTL(1)
	_, dnsPort, _ := net.SplitHostPort(dns.Addr)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`network: {address: 10.0.0.1/24, gateway: 10.0.0.2, resolver: "10.0.0.2:`+dnsPort+`"}
listeners: [{address: ":80"}]
admin: {address: ":9901", token: "image-test-admin-token"}
resilience:
  policies: [{name: guarded, breaker: {consecutive_failures: 5, open: 1m}}]
auth:
  api_keys: {keys: [{id: img, hash: "sha256:6d86fcd72a1939b112b50d1ba3df29ed30cccb305dd4606641dfea714f4eab07", role: User}]}
  tokens: {}
routes:
  - name: health
    match: {path: /healthz}
    respond: {status: 200, body: "ok\n"}
  - name: api
    match: {prefix: /api/}
    service: host
    strip_prefix: true
  - name: pool
    match: {prefix: /pool/}
    service: pool
    strip_prefix: true
  - name: secure
    match: {prefix: /secure/}
    service: host
    strip_prefix: true
    auth: {methods: [api_key, token]}
  - name: orders
    match: {path: /orders, methods: [POST]}
    service: host
    rewrite: /echo
    mediation: orders
  - name: catalog
    match: {prefix: /catalog/}
    service: host
    mediation: catalog
  - name: proto
    match: {path: /proto, methods: [POST]}
    service: host
    rewrite: /echo
    mediation: proto
mediation:
  protos: [{name: demo, descriptor_set: "`+base64.StdEncoding.EncodeToString(protoconv.DemoDescriptorSet())+`"}]
  schemas:
    - name: order
      document: '{"type":"object","required":["id","items"],"properties":{"id":{"type":"string"},"items":{"type":"array","minItems":1}}}'
  policies:
    - name: orders
      request:
        convert: {to: json}
        schema: order
        transforms: [{op: body.set, name: /via, value: "{route}"}]
      response: {convert: {to: accept, xml_root: order}}
    - name: catalog
      cache: {ttl: 1m}
    - name: proto
      request: {convert: {to: json, proto: demo, message: raygate.demo.v1.Order}}
      response: {convert: {to: accept, proto: demo, message: raygate.demo.v1.Order}}
services:
  - name: host
    resilience: guarded
    instances: [{address: "10.0.0.2:%d"}]
  - name: pool
    discovery: {srv: _http._tcp.pool.test, min_ttl: 1s}
    outlier: {consecutive_failures: 1, base_ejection: 1m}
`, backendPort)), 0o644)

	image := buildImage(t, target, cfg, dir)
	st, err := os.Stat(image)
	if err != nil {
		t.Fatal(err)
	}

	g := boot(t, target, image)

	// boot to first response, measured from QEMU's start
	var firstResponse time.Duration
	deadline := time.Now().Add(90 * time.Second)
	// Short attempts: QEMU accepts on the host port at once and retries its
	// SYN to a guest that is not up yet only after a second or more.
	quick := &http.Client{Timeout: 100 * time.Millisecond}
	for {
		resp, err := quick.Get(g.url("/healthz"))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(body) == "ok\n" {
				firstResponse = time.Since(g.started)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer on /healthz within 90 s (last error %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.waitFor(0, "raygate> ", 30*time.Second)

	// serial console
	help := g.run("help")
	for _, c := range []string{"help", "version", "uptime", "mem", "net", "reboot", "boot"} {
		if !strings.Contains(help, c+" ") {
			t.Errorf("help does not list %q:\n%s", c, help)
		}
	}
	if out := g.run("net"); !strings.Contains(out, "address    10.0.0.1/24") || !strings.Contains(out, "driver ") || !strings.Contains(out, "tcp ") {
		t.Errorf("net:\n%s", out)
	}
	if out := g.run("mem"); !strings.Contains(out, "heap ") || !strings.Contains(out, "goroutines") {
		t.Errorf("mem:\n%s", out)
	}
	if out := g.run("frobnicate now"); !strings.Contains(out, `unknown command "frobnicate"`) {
		t.Errorf("unknown command:\n%s", out)
	}
	if out := g.run("mem sideways"); !strings.Contains(out, "usage:") {
		t.Errorf("bad argument:\n%s", out)
	}
	if out := g.run("gateway routes"); !strings.Contains(out, "api") || !strings.Contains(out, "prefix") {
		t.Errorf("gateway routes:\n%s", out)
	}
	// a route added on the console serves at once
	if out := g.run("gateway route add {name: added, match: {template: '/added/{id}'}, service: host, rewrite: '/echo-{id}'}"); !strings.Contains(out, "ok: config version 1") {
		t.Errorf("route add:\n%s", out)
	}

	// a route proxied to the host backend
	resp, err := client.Get(g.url("/api/hello?x=1"))
	if err != nil {
		t.Fatal(err)
	}
	var echo demo.Echo
	err = json.NewDecoder(resp.Body).Decode(&echo)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || echo.Instance != "hostbackend" || echo.Path != "/hello" || echo.Query != "x=1" {
		t.Fatalf("proxied GET: status %d, %+v, %v", resp.StatusCode, echo, err)
	}
	if echo.Headers["X-Forwarded-For"] == "" || echo.Headers["X-Request-Id"] == "" {
		t.Errorf("forwarding headers missing: %v", echo.Headers)
	}

	// ambiguous framing is refused before net/http, over the netstack too
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", g.port)); err != nil {
		t.Error(err)
	} else {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET /api/hello HTTP/1.1\nHost: a\r\n\r\n")
		answer, _ := io.ReadAll(c) // the gateway closes the connection
		c.Close()
		if !strings.HasPrefix(string(answer), "HTTP/1.1 400 ") || !strings.Contains(string(answer), "bad-framing") {
			t.Errorf("bare-LF request: %q", answer)
		}
	}

	testMediation(t, g)

	resp, err = client.Get(g.url("/added/7"))
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&echo)
	resp.Body.Close()
	if err != nil || echo.Path != "/echo-7" {
		t.Errorf("route added on the console: %+v %v", echo, err)
	}
	if out := g.run("gateway health"); !strings.Contains(out, "healthy") {
		t.Errorf("gateway health:\n%s", out)
	}

	// a protected route: refused without credentials, served with the API
	// key or with a token issued on the console, refused once revoked
	resp, err = client.Get(g.url("/secure/x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("protected route without credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	secure := func(header, value string) (int, demo.Echo) {
		req, _ := http.NewRequest("GET", g.url("/secure/x"), nil)
		req.Header.Set(header, value)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e demo.Echo
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		return resp.StatusCode, e
	}
	if code, e := secure("X-API-Key", "rgk_image-test-key-0123456789"); code != 200 || e.Headers["X-Auth-Key-Id"] != "img" || e.Headers["X-Api-Key"] != "" {
		t.Errorf("API key: %d %v", code, e.Headers)
	}
	out := g.run("apiauth issue imagetest User 10m")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := strings.TrimSpace(lines[len(lines)-1])
	var tokenID string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "token" && f[2] == "for" {
			tokenID = f[1]
		}
	}
	if code, e := secure("Authorization", "Bearer "+token); code != 200 || e.Headers["X-Auth-Subject"] != "imagetest" {
		t.Errorf("issued token: %d %v (console: %q)", code, e.Headers, out)
	}
	g.run("apiauth revoke " + tokenID)
	if code, _ := secure("Authorization", "Bearer "+token); code != 401 {
		t.Errorf("revoked token: %d", code)
	}

	// load balancing over DNS-discovered instances; one stops, traffic moves
	poolGet := func() (int, string) {
		resp, err := client.Get(g.url("/pool/x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Instance")
	}
	seen := map[string]int{}
	deadline = time.Now().Add(30 * time.Second)
	for len(seen) < 2 && time.Now().Before(deadline) {
		if code, inst := poolGet(); code == 200 {
			seen[inst]++
		} else {
			time.Sleep(100 * time.Millisecond) // discovery not answered yet
		}
	}
	if seen["pool-1"] == 0 || seen["pool-2"] == 0 {
		t.Fatalf("DNS-discovered pool: %v\n%s", seen, g.run("balance pools"))
	}
	pool[1].Close()
	failures := 0
	for i := 0; i < 10; i++ {
		if code, _ := poolGet(); code != 200 {
			failures++
		}
	}
	for i := 0; i < 10; i++ {
		if code, inst := poolGet(); code != 200 || inst != "pool-1" {
			t.Fatalf("after the instance stopped: %d from %q", code, inst)
		}
	}
	if failures > 1 {
		t.Errorf("%d requests failed before the stopped instance was ejected (consecutive_failures 1)", failures)
	}
	if out := g.run("balance instances pool"); !strings.Contains(out, "ejected") {
		t.Errorf("balance instances:\n%s", out)
	}
	t.Logf("pool: both instances served %v; after one stopped, %d failed request(s), then all to pool-1", seen, failures)

	// an operator trips the host service's breaker on the console: the next
	// request is refused at once, without reaching the backend; reset
	// closes it again
	if out := g.run("resilience trip host"); !strings.Contains(out, "breaker open") {
		t.Errorf("resilience trip:\n%s", out)
	}
	resp, err = client.Get(g.url("/api/hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("tripped breaker: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if out := g.run("resilience breakers"); !strings.Contains(out, "open") {
		t.Errorf("resilience breakers:\n%s", out)
	}
	g.run("resilience reset host")
	resp, err = client.Get(g.url("/api/hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after reset: %d", resp.StatusCode)
	}

	// the figures of everything above, on the console
	if out := g.run("apimetrics services"); !strings.Contains(out, "host") || !strings.Contains(out, "pool") {
		t.Errorf("apimetrics services:\n%s", out)
	}
	if out := g.run("apimetrics latency host"); !strings.Contains(out, "overhead") {
		t.Errorf("apimetrics latency:\n%s", out)
	}

	// the admin listener: Prometheus text, the JSON snapshot and the
	// dashboard, served by the image
	adminGet := func(path string, token bool) (int, string) {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", g.adminPort, path), nil)
		if token {
			req.Header.Set("Authorization", "Bearer image-test-admin-token")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	if code, _ := adminGet("/metrics", false); code != 401 {
		t.Errorf("admin API without token: %d", code)
	}
	if code, body := adminGet("/metrics", true); code != 200 || !strings.Contains(body, `raygate_requests_total{route="api",service="host"}`) || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics: %d\n%.600s", code, body)
	}
	if code, body := adminGet("/admin/metrics.json", true); code != 200 || !strings.Contains(body, `"services"`) {
		t.Errorf("/admin/metrics.json: %d %.300s", code, body)
	}
	if code, body := adminGet("/dashboard/", false); code != 200 || !strings.Contains(body, "<canvas") {
		t.Errorf("/dashboard/: %d", code)
	}

	// 1 MiB down through the gateway
	resp, err = client.Get(g.url("/api/stream?bytes=1048576"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(body) != 1<<20 || body[0] != 'a' || body[len(body)-1] != byte('a'+(len(body)-1)%(32<<10)%26) {
		t.Fatalf("stream: %d bytes, %v", len(body), err)
	}

	// 256 KiB up and back
	up := make([]byte, 256<<10)
	rand.Read(up)
	resp, err = client.Post(g.url("/api/echo"), "application/octet-stream", bytes.NewReader(up))
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(body, up) {
		t.Fatalf("echo: %d bytes back of %d, %v", len(body), len(up), err)
	}

	// errors are problem+json
	resp, err = client.Get(g.url("/no/such/route"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("no route: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	for _, bad := range []string{"panic:", "fatal error:", "unexpected fault"} {
		if strings.Contains(g.log.String(), bad) {
			t.Errorf("console shows %q", bad)
		}
	}
	t.Logf("console after tests:\n%s", g.run("net"))
	fmt.Printf("IMAGE %s: boot-to-first-response %d ms, image %d bytes (%s emulation)\n",
		target, firstResponse.Milliseconds(), st.Size(), map[bool]string{true: os.Getenv("RAYGATE_ACCEL"), false: "software"}[os.Getenv("RAYGATE_ACCEL") != ""])
}

// testMediation checks what the image does to messages: a schema refusal
// with its violations, XML converted to JSON for the backend and back to
// XML for the client, a cache hit, and the mediate console command.
func testMediation(t *testing.T, g *guest) {
	post := func(body, ct, accept string) (int, http.Header, string) {
		path := "/orders"
		if ct == "application/x-protobuf" {
			path = "/proto"
		}
		req, _ := http.NewRequest("POST", g.url(path), strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header, string(b)
	}
	code, _, body := post(`{"items":[]}`, "application/json", "")
	if code != 400 || !strings.Contains(body, `"violations"`) || !strings.Contains(body, `"/items"`) {
		t.Errorf("invalid order: %d %s", code, body)
	}
	code, h, body := post(`<order><id>x1</id><items>a</items><items>b</items></order>`, "application/xml", "application/xml")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/xml") ||
		!strings.Contains(body, "<order><id>x1</id><items>a</items><items>b</items><via>orders</via></order>") {
		t.Errorf("XML order: %d %s %q", code, h.Get("Content-Type"), body)
	}
	// protobuf in, JSON to the backend (which echoes it), protobuf back
	set, err := protoconv.NewSet(protoconv.DemoDescriptorSet())
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := set.Message("raygate.demo.v1.Order")
	wire, err := msg.FromJSON([]byte(`{"id":"pb1","quantity":"2","items":[{"sku":"k","count":1}],"status":"STATUS_PAID"}`), protoconv.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	code, h, body = post(string(wire), "application/x-protobuf", "application/x-protobuf")
	if code != 200 || h.Get("Content-Type") != "application/x-protobuf" || body != string(wire) {
		t.Errorf("protobuf order: %d %s %x (sent %x)", code, h.Get("Content-Type"), body, wire)
	}

	get := func() string {
		resp, err := client.Get(g.url("/catalog/shoes"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("Cache-Status")
	}
	if first, second := get(), get(); !strings.Contains(first, "stored") || second != "raygate; hit" {
		t.Errorf("cache: first %q, second %q", first, second)
	}
	if out := g.run("mediate cache"); !strings.Contains(out, "catalog") || !strings.Contains(out, "50.0%") {
		t.Errorf("mediate cache:\n%s", out)
	}
	if out := g.run("mediate schemas"); !strings.Contains(out, "order") {
		t.Errorf("mediate schemas:\n%s", out)
	}
	if out := g.run("mediate transforms orders"); !strings.Contains(out, "body.set /via") {
		t.Errorf("mediate transforms:\n%s", out)
	}
	if out := g.run("mediate cache flush catalog"); !strings.Contains(out, "flushed 1 entry") {
		t.Errorf("mediate cache flush:\n%s", out)
	}
	if out := g.run("mediate cache sideways"); !strings.Contains(out, "usage") {
		t.Errorf("bad mediate subcommand:\n%s", out)
	}
}
