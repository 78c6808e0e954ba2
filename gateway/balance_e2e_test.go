package gateway_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowBackend answers after a delay, or when released.
func slowBackend(t *testing.T, name string, delay time.Duration) string {
	t.Helper()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Instance", name)
		if strings.HasPrefix(r.URL.Path, "/slow") {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func inflight(t *testing.T, s *served) map[string]int64 {
	t.Helper()
	p, err := s.g.Pool("s")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, in := range p.Instances() {
		m[in.Addr] = in.InFlight()
	}
	return m
}

// TestCountsReturnToZero cancels clients in every phase (before the
// upstream answers, mid-body) and checks the in-flight counts end at zero.
func TestCountsReturnToZero(t *testing.T) {
	a, b := slowBackend(t, "a", 200*time.Millisecond), slowBackend(t, "b", 200*time.Millisecond)
	s := serve(t, "routes: [{name: all, match: {prefix: /}, service: s}]\nservices: [{name: s, strategy: least_conn, instances: [{address: \""+a+"\"}, {address: \""+b+"\"}]}]\n")
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(20+i*5)*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/slow", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	// and some that complete, and some that stop reading mid-stream
	for i := 0; i < 10; i++ {
		resp, err := http.Get(s.url + "/fast")
		if err == nil {
			resp.Body.Close() // closed before reading
		}
	}
	wg.Wait()
	deadline := time.Now().Add(3 * time.Second)
	for {
		m := inflight(t, s)
		if m[a] == 0 && m[b] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("in-flight counts did not return to zero: %v", m)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDrainWithRequestsInFlight(t *testing.T) {
	a, b := slowBackend(t, "a", 300*time.Millisecond), slowBackend(t, "b", 300*time.Millisecond)
	s := serve(t, "routes: [{name: all, match: {prefix: /}, service: s}]\nservices: [{name: s, instances: [{address: \""+a+"\"}, {address: \""+b+"\"}]}]\n")
	// start slow requests on both instances
	type res struct {
		body string
		err  error
	}
	results := make(chan res, 4)
	for i := 0; i < 4; i++ {
		go func() {
			resp, err := http.Get(s.url + "/slow")
			if err != nil {
				results <- res{err: err}
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- res{body: string(body)}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if err := s.g.SetInstanceState("s", a, "drain"); err != nil {
		t.Fatal(err)
	}
	// new requests avoid the draining instance
	for i := 0; i < 20; i++ {
		resp, err := http.Get(s.url + "/fast")
		if err != nil {
			t.Fatal(err)
		}
		if inst := resp.Header.Get("X-Instance"); inst != "b" {
			t.Fatalf("request %d went to %s while a drains", i, inst)
		}
		resp.Body.Close()
	}
	// the in-flight ones finish, on both
	seen := map[string]int{}
	for i := 0; i < 4; i++ {
		r := <-results
		if r.err != nil {
			t.Fatalf("in-flight request failed during the drain: %v", r.err)
		}
		seen[r.body]++
	}
	if seen["a"] == 0 {
		t.Fatalf("no in-flight request was on the drained instance: %v", seen)
	}
	if m := inflight(t, s); m[a] != 0 {
		t.Fatalf("drained instance still has %d in flight", m[a])
	}
	s.g.SetInstanceState("s", a, "enable")
}

func TestNoHealthyInstanceIs503(t *testing.T) {
	a := slowBackend(t, "a", 0)
	s := serve(t, "routes: [{name: all, match: {prefix: /}, service: s}]\nservices: [{name: s, instances: [{address: \""+a+"\"}]}]\n")
	s.g.SetInstanceState("s", a, "disable")
	resp, err := http.Get(s.url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "no-healthy-instance") {
		t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}

func TestBalanceCommandAndRuntimeStrategy(t *testing.T) {
	a, b := slowBackend(t, "a", 0), slowBackend(t, "b", 0)
	s := serve(t, "routes: [{name: all, match: {prefix: /}, service: s}]\nservices: [{name: s, instances: [{address: \""+a+"\"}, {address: \""+b+"\", weight: 1}], health_check: {path: /h, interval: 1s}}]\n")
	reg := newRegistry(s)
	for _, c := range []struct {
		line string
		has  string
		err  bool
	}{
		{"balance pools", "round_robin", false},
		{"balance instances s", a, false},
		{"balance instances nope", "no service", true},
		{"balance strategy s", "round_robin", false},
		{"balance strategy s least_conn", "least_conn", false},
		{"balance strategy s fastest", "not one of", true},
		{"balance weight s " + b + " 3", "weight 3", false},
		{"balance weight s 1.2.3.4:5 3", "no configured instance", true},
		{"balance weight s " + b + " -1", "usage", true},
		{"balance drain s " + a, "draining", false},
		{"balance instances", "draining", false},
		{"balance enable s " + a, "enabled", false},
		{"balance check s", "status 200", false},
		{"balance add s 127.0.0.1:1 2", "added", false},
		{"balance add s 127.0.0.1:1", "already has", true},
		{"balance instances s", "127.0.0.1:1", false},
		{"balance remove s 127.0.0.1:1", "removed", false},
		{"balance remove s 127.0.0.1:1", "no configured instance", true},
		{"balance check nope", "no service", true},
		{"gateway config show", "strategy: least_conn", false},
	} {
		out, err := reg(c.line)
		if (err != nil) != c.err || !strings.Contains(out, c.has) {
			t.Errorf("%s: %v\n%s", c.line, err, out)
		}
	}
	// the weight change took effect on a live pool: b now gets 3 of 4
	p, _ := s.g.Pool("s")
	if got := p.Instance(b).Weight(); got != 3 {
		t.Fatalf("weight %d", got)
	}
	if err := s.g.SetStrategy("s", "weighted_round_robin"); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for i := 0; i < 40; i++ {
		resp, err := http.Get(s.url + "/x")
		if err != nil {
			t.Fatal(err)
		}
		counts[resp.Header.Get("X-Instance")]++
		resp.Body.Close()
	}
	if counts["b"] != 30 || counts["a"] != 10 {
		t.Fatalf("weighted after runtime change: %v", counts)
	}
}
