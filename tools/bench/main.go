// Command bench runs raygate side by side with nginx, HAProxy, Caddy and a
// plain httputil.ReverseProxy: the same backend, route and load for each
// gateway in turn (`make bench`). Every gateway is pinned to CPU 0 with one
// worker; the backend and wrk share CPU 1. Each scenario warms up, then runs
// timed repeats; the median is reported as a Markdown table on stdout and in
// bench/RESULTS.md. Everything listens on loopback and every run is bounded.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const apiKey = "rgk_bench-key-0123456789abcdefghijklmnop"

func main() {
	mode := flag.String("mode", "bench", "bench, backend or baseline (internal)")
	listen := flag.String("listen", "", "listen address (backend, baseline)")
	upstream := flag.String("upstream", "", "upstream address (baseline)")
	duration := flag.Duration("duration", 5*time.Second, "timed run per repeat")
	warmup := flag.Duration("warmup", 2*time.Second, "warm-up before the timed runs")
	repeats := flag.Int("repeats", 3, "timed repeats (the median is reported)")
	only := flag.String("only", "", "comma-separated gateways to run (default all)")
	out := flag.String("out", "bench/RESULTS.md", "results file")
	flag.Parse()

	var err error
	switch *mode {
	case "backend":
		err = serveBackend(*listen)
	case "baseline":
		err = serveBaseline(*listen, *upstream)
	default:
		err = run(*duration, *warmup, *repeats, *only, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// serveBackend answers /small with 17 bytes and /big with 64 KiB; under
// /cached/ with a cacheable answer, counting those requests, which
// /__cached_count reports (so the bench can tell a cache that hits from
// one that does not).
func serveBackend(addr string) error {
	small := []byte(`{"hello":"world"}`)
	big := bytes.Repeat([]byte("raygate-bench-64k"), 64<<10/17+1)[:64<<10]
	var cached atomic.Int64
	return http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__cached_count" {
			fmt.Fprint(w, cached.Load())
			return
		}
		if strings.HasPrefix(r.URL.Path, "/cached/") {
			cached.Add(1)
			w.Header().Set("Cache-Control", "public, max-age=3600")
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/big") {
			w.Write(big)
			return
		}
		w.Write(small)
	}))
}

// serveBaseline is the plain Go reverse proxy the gateway is measured
// against.
func serveBaseline(addr, upstream string) error {
	p := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: upstream})
	p.Transport = &http.Transport{MaxIdleConnsPerHost: 256}
	return http.ListenAndServe(addr, p)
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitPort(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not come up", addr)
}

// scenario is one load shape.
type scenario struct {
	name    string
	path    string
	conns   int
	headers func(g *gw) []string // nil: no auth
}

// gw is one gateway under test.
type gw struct {
	name string
	// host is where the gateway listens (default 127.0.0.1)
	host  string
	start func(dir string, port, backend int) (*exec.Cmd, error)
	// supports reports whether the gateway can run the scenario as built.
	supports func(s string) bool
	jwt      string
}

type result struct {
	rps      float64
	p50, p99 time.Duration
	rssKB    int
	err      string
}

func run(duration, warmup time.Duration, repeats int, only, outFile string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "raygate-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// keys for the auth scenarios
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&ek.PublicKey)
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	os.WriteFile(filepath.Join(dir, "jwt.pem"), []byte(pubPEM), 0o644)
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"sub": "bench", "role": "User", "iat": time.Now().Unix(),
		"exp": time.Now().Add(24 * time.Hour).Unix()})
	tok.Header["kid"] = "bench"
	signed, err := tok.SignedString(ek)
	if err != nil {
		return err
	}
	keyHash := sha256.Sum256([]byte(apiKey))

	backendPort := freePort()
	backend := exec.Command("taskset", "-c", "1", self, "-mode", "backend", "-listen", fmt.Sprintf("127.0.0.1:%d", backendPort))
	backend.Env = append(os.Environ(), "GOMAXPROCS=1")
	if err := backend.Start(); err != nil {
		return err
	}
	defer func() { backend.Process.Kill(); backend.Wait() }()
	if err := waitPort(fmt.Sprintf("127.0.0.1:%d", backendPort), 5*time.Second); err != nil {
		return err
	}

	var cleanups []func()
	defer func() {
		for _, c := range cleanups {
			c()
		}
		tapDown()
	}()

	raygateBin := filepath.Join(dir, "raygate")
	if out, err := exec.Command("go", "build", "-o", raygateBin, "./tools/raygate").CombinedOutput(); err != nil {
		return fmt.Errorf("building raygate: %v\n%s", err, out)
	}

	gateways := []*gw{
		{name: "raygate", jwt: signed, supports: func(string) bool { return true },
			start: func(d string, port, b int) (*exec.Cmd, error) {
				cfg := fmt.Sprintf(`listeners: [{address: "127.0.0.1:%d"}]
auth:
  api_keys: {keys: [{id: bench, hash: "sha256:%s", role: User}]}
  jwt: {keys: [{id: bench, alg: ES256, pem: %q}]}
mediation:
  policies: [{name: cached, cache: {ttl: 1h}}]
routes:
  - {name: plain, match: {prefix: /plain/}, service: b}
  - {name: cached, match: {prefix: /cached/}, service: b, mediation: cached}
  - {name: apikey, match: {prefix: /apikey/}, service: b, auth: {methods: [api_key]}}
  - {name: jwt, match: {prefix: /jwt/}, service: b, auth: {methods: [jwt]}}
services: [{name: b, instances: [{address: "127.0.0.1:%d"}]}]
limits: {max_idle_conns_per_instance: 256, max_conns_per_instance: 2048}
`, port, hex.EncodeToString(keyHash[:]), pubPEM, b)
				path := filepath.Join(d, "raygate.yaml")
				os.WriteFile(path, []byte(cfg), 0o644)
				c := exec.Command("taskset", "-c", "0", raygateBin, "-config", path, "-no-shell")
				c.Env = append(os.Environ(), "GOMAXPROCS=1")
				return c, c.Start()
			}},
		{name: "raygate/tap", host: tapGuest, supports: func(s string) bool { return s == "plain" || s == "64KiB" || s == "1000 conns" },
			start: func(d string, port, b int) (*exec.Cmd, error) {
				// the netstack's cost: the same gateway, serving and dialing
				// through gVisor's netstack on a TAP interface whose other
				// end is this host's kernel, where a second backend listens
				// on the TAP's private address
				if err := tapUp(); err != nil {
					return nil, err
				}
				be := exec.Command("taskset", "-c", "1", self, "-mode", "backend", "-listen", fmt.Sprintf("%s:%d", tapHost, b))
				be.Env = append(os.Environ(), "GOMAXPROCS=1")
				if err := be.Start(); err != nil {
					return nil, err
				}
				cleanups = append(cleanups, func() { be.Process.Kill(); be.Wait() })
				cfg := fmt.Sprintf(`listeners: [{address: ":%d"}]
routes:
  - {name: plain, match: {prefix: /plain/}, service: b}
services: [{name: b, instances: [{address: "%s:%d"}]}]
limits: {max_idle_conns_per_instance: 256, max_conns_per_instance: 2048}
`, port, tapHost, b)
				path := filepath.Join(d, "raygate-tap.yaml")
				os.WriteFile(path, []byte(cfg), 0o644)
				c := exec.Command("taskset", "-c", "0", raygateBin, "-config", path, "-no-shell", "-tap", tapName, "-tap-address", tapGuest+"/24")
				c.Env = append(os.Environ(), "GOMAXPROCS=1")
				return c, c.Start()
			}},
		{name: "httputil", supports: func(s string) bool { return s == "plain" || s == "64KiB" || s == "1000 conns" },
			start: func(d string, port, b int) (*exec.Cmd, error) {
				c := exec.Command("taskset", "-c", "0", self, "-mode", "baseline", "-listen", fmt.Sprintf("127.0.0.1:%d", port),
					"-upstream", fmt.Sprintf("127.0.0.1:%d", b))
				c.Env = append(os.Environ(), "GOMAXPROCS=1")
				return c, c.Start()
			}},
		{name: "nginx", supports: func(s string) bool { return s != "JWT ES256" },
			start: func(d string, port, b int) (*exec.Cmd, error) {
				cfg := fmt.Sprintf(`worker_processes 1;
error_log %[1]s/nginx-error.log;
pid %[1]s/nginx.pid;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy;
  upstream b { server 127.0.0.1:%[3]d; keepalive 256; }
  proxy_cache_path %[1]s/cache keys_zone=c:10m max_size=64m;
  server {
    listen 127.0.0.1:%[2]d;
    location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location /cached/ { proxy_cache c; proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location /apikey/ {
      if ($http_x_api_key != "%[4]s") { return 401; }
      proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection "";
    }
  }
}
`, d, port, b, apiKey)
				// nginx's workers drop to an unprivileged user when started
				// as root: they must reach the cache folder
				os.Chmod(d, 0o755)
				os.MkdirAll(filepath.Join(d, "cache"), 0o777)
				os.Chmod(filepath.Join(d, "cache"), 0o777)
				path := filepath.Join(d, "nginx.conf")
				os.WriteFile(path, []byte(cfg), 0o644)
				c := exec.Command("taskset", "-c", "0", "nginx", "-c", path, "-g", "daemon off;")
				return c, c.Start()
			}},
		{name: "haproxy", jwt: signed, supports: func(string) bool { return true },
			start: func(d string, port, b int) (*exec.Cmd, error) {
				cfg := fmt.Sprintf(`global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
cache c
  total-max-size 64
  max-age 3600
frontend fe
  bind 127.0.0.1:%[1]d
  acl apikey path_beg /apikey/
  acl jwtpath path_beg /jwt/
  http-request cache-use c if { path_beg /cached/ }
  http-request deny deny_status 401 if apikey !{ req.hdr(x-api-key) -m str %[3]s }
  http-request set-var(txn.bearer) http_auth_bearer if jwtpath
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg') if jwtpath
  http-request deny deny_status 401 if jwtpath !{ var(txn.alg) -m str ES256 }
  http-request deny deny_status 401 if jwtpath !{ var(txn.bearer),jwt_verify(txn.alg,"%[4]s/jwt.pem") -m int 1 }
  default_backend be
backend be
  http-response cache-store c
  server s1 127.0.0.1:%[2]d
`, port, b, apiKey, d)
				path := filepath.Join(d, "haproxy.cfg")
				os.WriteFile(path, []byte(cfg), 0o644)
				c := exec.Command("taskset", "-c", "0", "haproxy", "-f", path, "-db")
				return c, c.Start()
			}},
		{name: "caddy", supports: func(s string) bool { return s != "JWT ES256" && s != "cache hit" },
			start: func(d string, port, b int) (*exec.Cmd, error) {
				cfg := fmt.Sprintf(`{
  admin off
  auto_https off
  log {
    output discard
  }
}
:%[1]d {
  bind 127.0.0.1
  @badkey {
    path /apikey/*
    not header X-API-Key %[3]s
  }
  respond @badkey 401
  reverse_proxy 127.0.0.1:%[2]d
}
`, port, b, apiKey)
				path := filepath.Join(d, "Caddyfile")
				os.WriteFile(path, []byte(cfg), 0o644)
				c := exec.Command("taskset", "-c", "0", "caddy", "run", "--config", path, "--adapter", "caddyfile")
				c.Env = append(os.Environ(), "GOMAXPROCS=1", "HOME="+d, "XDG_DATA_HOME="+d, "XDG_CONFIG_HOME="+d)
				return c, c.Start()
			}},
	}
	if only != "" {
		var keep []*gw
		for _, g := range gateways {
			if strings.Contains(","+only+",", ","+g.name+",") {
				keep = append(keep, g)
			}
		}
		gateways = keep
	}

	scenarios := []scenario{
		{name: "plain", path: "/plain/small", conns: 64},
		{name: "API key", path: "/apikey/small", conns: 64, headers: func(*gw) []string { return []string{"X-API-Key: " + apiKey} }},
		{name: "JWT ES256", path: "/jwt/small", conns: 64, headers: func(g *gw) []string { return []string{"Authorization: Bearer " + signed} }},
		{name: "cache hit", path: "/cached/small", conns: 64},
		{name: "64KiB", path: "/plain/big", conns: 64},
		{name: "1000 conns", path: "/plain/small", conns: 1000},
	}

	results := map[string]map[string]result{}
	for _, g := range gateways {
		results[g.name] = map[string]result{}
		bin := g.name
		if strings.HasPrefix(g.name, "raygate") || g.name == "httputil" {
			bin = "go"
		}
		if _, err := exec.LookPath(bin); err != nil {
			for _, s := range scenarios {
				results[g.name][s.name] = result{err: "not installed"}
			}
			continue
		}
		port := freePort()
		cmd, err := g.start(dir, port, backendPort)
		if err != nil {
			if g.host != "" {
				// the TAP run needs root and /dev/net/tun: say so, go on
				for _, s := range scenarios {
					results[g.name][s.name] = result{err: "n/a: " + err.Error()}
				}
				continue
			}
			return fmt.Errorf("%s: %v", g.name, err)
		}
		host := g.host
		if host == "" {
			host = "127.0.0.1"
		}
		addr := fmt.Sprintf("%s:%d", host, port)
		if err := waitPort(addr, 10*time.Second); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return fmt.Errorf("%s: %v", g.name, err)
		}
		for _, s := range scenarios {
			if !g.supports(s.name) {
				results[g.name][s.name] = result{err: "n/a"}
				continue
			}
			var hdrs []string
			if s.headers != nil {
				hdrs = s.headers(g)
			}
			u := "http://" + addr + s.path
			cachedBefore := cachedCount(backendPort)
			if err := check(u, hdrs); err != nil {
				results[g.name][s.name] = result{err: err.Error()}
				continue
			}
			wrk(u, s.conns, warmup, hdrs)
			var reps []result
			for i := 0; i < repeats; i++ {
				r, err := wrk(u, s.conns, duration, hdrs)
				if err != nil {
					r.err = err.Error()
				}
				reps = append(reps, r)
			}
			sort.Slice(reps, func(i, j int) bool { return reps[i].rps < reps[j].rps })
			med := reps[len(reps)/2]
			if strings.HasPrefix(s.path, "/cached/") {
				// a cache that passes the load through is not measured as one
				if n := cachedCount(backendPort); n-cachedBefore > 1000 {
					med.err = fmt.Sprintf("not cached: %d upstream requests", n-cachedBefore)
				}
			}
			med.rssKB = peakRSS(cmd.Process.Pid)
			results[g.name][s.name] = med
			fmt.Fprintf(os.Stderr, "bench: %-8s %-10s %9.0f req/s  p50 %-9s p99 %-9s\n", g.name, s.name, med.rps, med.p50, med.p99)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}

	table := render(gateways, scenarios, results, duration, repeats)
	fmt.Print(table)
	if outFile != "" {
		os.MkdirAll(filepath.Dir(outFile), 0o755)
		return os.WriteFile(outFile, []byte(table), 0o644)
	}
	return nil
}

// check makes one request and wants a 200.
// The TAP interface of the netstack run: a private /24 between this
// host's kernel (tapHost) and the gateway's netstack (tapGuest).
const (
	tapName  = "rgbench0"
	tapHost  = "10.78.0.2"
	tapGuest = "10.78.0.1"
)

func tapUp() error {
	tapDown()
	for _, args := range [][]string{
		{"tuntap", "add", "dev", tapName, "mode", "tap"},
		{"addr", "add", tapHost + "/24", "dev", tapName},
		// the default queue of 1,000 frames overflowed under the 64 KiB
		// load (12,054 drops in 5 s, retransmissions in the p99)
		{"link", "set", tapName, "txqueuelen", "10000"},
		{"link", "set", tapName, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

func tapDown() { exec.Command("ip", "link", "del", tapName).Run() }

// cachedCount asks the backend how many /cached/ requests reached it.
func cachedCount(port int) int64 {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/__cached_count", port))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var n int64
	fmt.Fscan(resp.Body, &n)
	return n
}

func check(u string, hdrs []string) error {
	req, _ := http.NewRequest("GET", u, nil)
	for _, h := range hdrs {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

var (
	reRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reP   = regexp.MustCompile(`\s+(50|99)%\s+([0-9.]+)(us|ms|s)`)
	reErr = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
)

// wrk runs the load generator on CPU 1 (with the backend).
func wrk(u string, conns int, d time.Duration, hdrs []string) (result, error) {
	args := []string{"-c", "1", "wrk", "-t1", "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency", "--timeout", "5s"}
	for _, h := range hdrs {
		args = append(args, "-H", h)
	}
	args = append(args, u)
	out, err := exec.Command("taskset", args...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	var r result
	if m := reRPS.FindSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	for _, m := range reP.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[3])]
		d := time.Duration(v * float64(unit))
		if string(m[1]) == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := reErr.FindSubmatch(out); m != nil {
		return r, fmt.Errorf("%s non-2xx responses", m[1])
	}
	return r, nil
}

// peakRSS reads a process's high-water resident set (kB).
func peakRSS(pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	return 0
}

func machine() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "model name") {
			return strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
		}
	}
	return runtime.GOARCH
}

func render(gws []*gw, scs []scenario, res map[string]map[string]result, d time.Duration, reps int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# raygate benchmark results\n\n%s, %s, %d CPUs; %s; each gateway on CPU 0 with one worker, backend and wrk on CPU 1; %s timed runs, median of %d.\n\n",
		time.Now().UTC().Format("2006-01-02"), machine(), runtime.NumCPU(), runtime.Version(), d, reps)
	fmt.Fprintf(&b, "| scenario | gateway | req/s | p50 | p99 | peak RSS | raygate ÷ gateway (req/s) |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, s := range scs {
		ray := res["raygate"][s.name]
		for _, g := range gws {
			r := res[g.name][s.name]
			if r.err != "" && r.rps == 0 {
				fmt.Fprintf(&b, "| %s | %s | %s | | | | |\n", s.name, g.name, r.err)
				continue
			}
			ratio := ""
			if ray.rps > 0 && r.rps > 0 {
				ratio = fmt.Sprintf("%.2f", ray.rps/r.rps)
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %.1f MiB | %s |\n", s.name, g.name, r.rps, r.p50.Round(time.Microsecond),
				r.p99.Round(time.Microsecond), float64(r.rssKB)/1024, ratio)
		}
	}
	fmt.Fprintf(&b, "\nn/a: the peer cannot do this as packaged (nginx and Caddy verify JWTs only with plug-ins; Caddy's standard build has no response cache, its cache-handler is a plug-in). In \"cache hit\" each gateway answers from its own cache (nginx proxy_cache, HAProxy cache, raygate's mediation cache), checked by counting the requests that reached the backend. raygate/tap is the same gateway serving and dialing through gVisor's netstack on a TAP interface (the image's network path, with this host's kernel at the other end of the wire); its ratio is raygate on the kernel's TCP over raygate on the netstack.\n")
	return b.String()
}
