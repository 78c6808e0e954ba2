package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// closedWithin reports whether the server closes c within d (reading and
// discarding whatever it sends first).
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return err == nil // EOF from the server, not our deadline
}

// settle waits for the goroutine count to come back to at most want.
func settle(want int, d time.Duration) int {
	deadline := time.Now().Add(d)
	n := runtime.NumGoroutine()
	for n > want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestSlowAndExcessClients: headers trickled (slowloris), idle keep-alive
// connections, a body trickled past the route timeout, and more clients than
// limits.max_connections: each is cut or queued by its limit, every client
// that asks is answered, goroutines stay bounded and return to the
// baseline.
func TestSlowAndExcessClients(t *testing.T) {
	const maxConns = 16
	s := serve(t, fmt.Sprintf(`limits: {read_header_timeout: 300ms, idle_timeout: 300ms, max_connections: %d, max_idle_conns_per_instance: 2}
routes: [{name: all, match: {prefix: /}, service: s, timeout: 500ms}]
`, maxConns)+svcYAML(backend(t, "b")))
	get := func(c net.Conn, extra string) int {
		io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\n"+extra+"\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// warm up the upstream pool, then take the baseline
	c := dial()
	if st := get(c, "Connection: close\r\n"); st != 200 {
		t.Fatalf("warm-up: %d", st)
	}
	c.Close()
	baseline := settle(0, 200*time.Millisecond)

	t.Run("headers trickled", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := dial()
				defer c.Close()
				io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\n")
				start := time.Now()
				go func() { // one header line every 50ms, for up to 3s
					for range 60 {
						if _, err := io.WriteString(c, "X-Slow: y\r\n"); err != nil {
							return
						}
						time.Sleep(50 * time.Millisecond)
					}
				}()
				if !closedWithin(c, 3*time.Second) {
					t.Error("trickled headers: connection still open after 3s")
				} else if el := time.Since(start); el < 250*time.Millisecond {
					t.Errorf("trickled headers: cut after %v, before read_header_timeout", el)
				}
			}()
		}
		wg.Wait()
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c := dial()
		defer c.Close()
		if st := get(c, ""); st != 200 {
			t.Fatalf("status %d", st)
		}
		if !closedWithin(c, 2*time.Second) {
			t.Fatal("idle connection still open 2s after its last response")
		}
	})

	t.Run("body trickled", func(t *testing.T) {
		c := dial()
		defer c.Close()
		io.WriteString(c, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n")
		go func() {
			for range 1000 {
				if _, err := c.Write([]byte{'a'}); err != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer within 3s to a body trickled past the 500ms route timeout: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("trickled body: status %d", resp.StatusCode)
		}
	})

	t.Run("more clients than max_connections", func(t *testing.T) {
		const clients = 8 * maxConns
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		peak := 0
		stop := make(chan struct{})
		go func() { // sample goroutines while clients wait
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
					mu.Lock()
					peak = max(peak, runtime.NumGoroutine())
					mu.Unlock()
				}
			}
		}()
		conns := make([]net.Conn, clients)
		for i := range conns {
			conns[i] = dial() // accepted by the kernel; the gateway takes maxConns at a time
		}
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				st := get(c, "")
				mu.Lock()
				statuses[st]++
				mu.Unlock()
				// hold the slot until the server's idle timeout frees it
				closedWithin(c, 5*time.Second)
			}()
		}
		wg.Wait()
		close(stop)
		mu.Lock()
		defer mu.Unlock()
		if statuses[200] != clients {
			t.Fatalf("statuses %v, want %d × 200", statuses, clients)
		}
		// our own goroutines: the sampler, one per client; the gateway's (and
		// the backend's): about five per accepted connection (connection,
		// background read, upstream reader and writer, backend handler), and
		// only maxConns are accepted at a time (measured: about 80 for 16;
		// without the limit, 460 to 620 for 128 clients)
		if extra := peak - baseline - clients - 1; extra > 8*maxConns {
			t.Fatalf("%d gateway goroutines at peak for %d clients and max_connections %d", extra, clients, maxConns)
		}
		t.Logf("%d clients, max_connections %d: all answered; peak goroutines %d over a baseline of %d", clients, maxConns, peak-baseline, baseline)
	})

	// what may stay: the upstream keep-alive pool, at most
	// max_idle_conns_per_instance connections of three goroutines each (the
	// transport's reader and writer, the backend's handler); the baseline
	// holds one of them
	if n := settle(baseline+6, 3*time.Second); n > baseline+6 {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("goroutines: %d after, %d before\n%s", n, baseline, strings.TrimSpace(string(buf)))
	}
}
