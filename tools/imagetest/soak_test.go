//go:build imagetest

package imagetest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raygate/raygate/tools/demo"
)

var reGoroutines = regexp.MustCompile(`goroutines\s+(\d+)`)

// TestImageSoak keeps the microvm image under steady load (four keep-alive
// clients through the forwarded port to a backend on the host) and samples
// `mem gc` on the serial console ten times. After the first tenth (the
// warm-up) heap and goroutines must stay flat, and requests must not be
// lost. RAYGATE_SOAK sets the length (`make soak`: 3m); `make test` runs
// the short form, 20 s.
func TestImageSoak(t *testing.T) {
	length := 20 * time.Second
	if v := os.Getenv("RAYGATE_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Second || d > 4*time.Minute {
			t.Fatalf("RAYGATE_SOAK=%q: want a duration from 10s to 4m (QEMU is bounded to 5m)", v)
		}
		length = d
	}
	ln, err := demo.Serve("host", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`network: {address: 10.0.0.1/24, gateway: 10.0.0.2}
listeners: [{address: ":80"}]
routes:
  - {name: health, match: {path: /healthz}, respond: {status: 200, body: "ok\n"}}
  - {name: api, match: {prefix: /api/}, service: host, strip_prefix: true}
services: [{name: host, instances: [{address: "10.0.0.2:%d"}]}]
`, ln.Addr().(*net.TCPAddr).Port)), 0o644)
	g := boot(t, "microvm", buildImage(t, "microvm", cfg, dir))
	g.waitFor(0, "raygate> ", 90*time.Second)

	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get(g.url("/api/x"))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	type sample struct {
		at         time.Duration
		heap       float64
		goroutines int
		requests   int64
	}
	var samples []sample
	start := time.Now()
	for i := 1; i <= 10; i++ {
		time.Sleep(time.Until(start.Add(length * time.Duration(i) / 10)))
		out := g.run("mem gc")
		h, gr := reHeap.FindStringSubmatch(out), reGoroutines.FindStringSubmatch(out)
		if h == nil || gr == nil {
			t.Fatalf("mem printed no heap or goroutine count:\n%s", out)
		}
		heap, _ := strconv.ParseFloat(h[1], 64)
		n, _ := strconv.Atoi(gr[1])
		samples = append(samples, sample{time.Since(start).Round(time.Second), heap, n, ok.Load() + failed.Load()})
	}
	close(stop)
	wg.Wait()

	curve := ""
	for _, s := range samples {
		curve += fmt.Sprintf("  %6s  %7d requests  heap %5.1f MiB  %3d goroutines\n", s.at, s.requests, s.heap, s.goroutines)
	}
	t.Logf("soak %s: %d requests answered, %d failed\n%s", length, ok.Load(), failed.Load(), curve)
	warm, last := samples[0], samples[len(samples)-1]
	if last.heap > warm.heap+1.0 {
		t.Errorf("heap grew from %.1f MiB after warm-up to %.1f MiB", warm.heap, last.heap)
	}
	if last.goroutines > warm.goroutines+8 {
		t.Errorf("goroutines grew from %d after warm-up to %d", warm.goroutines, last.goroutines)
	}
	// one unexplained stall was seen once in 50,000 requests (see the
	// benchmarks issue): a lost request is reported, more than 0.1% fails
	if total := ok.Load() + failed.Load(); total == 0 || float64(failed.Load()) > 0.001*float64(total) {
		t.Errorf("%d of %d requests failed", failed.Load(), total)
	}
}
