//go:build imagetest

package imagetest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raygate/raygate/tools/demo"
	"github.com/raygate/raygate/tools/qemu"
)

var (
	reBoot = regexp.MustCompile(`boot:\s+([0-9.]+) ms\s+(main|netstack up|gateway accepting)`)
	reHeap = regexp.MustCompile(`heap\s+([0-9.]+) MiB in use`)
	reRPS  = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
)

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

// TestImageFootprint is `make bench-image`: per QEMU target, the image
// sizes, the boot timeline and boot-to-first-response over repeated boots,
// the heap after boot and after 10,000 requests, and requests per second
// through QEMU's user-mode networking. It writes bench/IMAGE.md.
func TestImageFootprint(t *testing.T) {
	if os.Getenv("RAYGATE_BENCH_IMAGE") == "" {
		t.Skip("run with `make bench-image`")
	}
	boots := 3
	accel := os.Getenv("RAYGATE_ACCEL")
	mode := "software emulation (TCG)"
	if accel == "kvm" {
		mode = "KVM"
	}
	var rows []string
	for _, target := range qemu.Targets {
		ln, err := demo.Serve("host", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		dir := t.TempDir()
		cfg := filepath.Join(dir, "config.yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf(`network: {address: 10.0.0.1/24, gateway: 10.0.0.2}
listeners: [{address: ":80"}]
routes:
  - {name: health, match: {path: /healthz}, respond: {status: 200, body: "ok\n"}}
  - {name: api, match: {prefix: /api/}, service: host, strip_prefix: true}
services: [{name: host, instances: [{address: "10.0.0.2:%d"}]}]
`, port)), 0o644)
		image := buildImage(t, target, cfg, dir)
		elf, _ := os.Stat(image)
		imx := "-"
		if st, err := os.Stat(strings.TrimSuffix(image, ".elf") + ".imx"); err == nil {
			imx = strconv.FormatInt(st.Size(), 10)
		}
		var first, mainAt, netAt, acceptAt, heapBoot, heapAfter, rps []float64
		failures := 0
		for b := 0; b < boots; b++ {
			g := boot(t, target, image)
			quick := &http.Client{Timeout: 100 * time.Millisecond}
			deadline := time.Now().Add(90 * time.Second)
			for {
				if resp, err := quick.Get(g.url("/healthz")); err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						first = append(first, float64(time.Since(g.started).Milliseconds()))
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatal("no answer")
				}
				time.Sleep(10 * time.Millisecond)
			}
			g.waitFor(0, "raygate> ", 30*time.Second)
			for _, m := range reBoot.FindAllStringSubmatch(g.log.String(), -1) {
				v, _ := strconv.ParseFloat(m[1], 64)
				switch m[2] {
				case "main":
					mainAt = append(mainAt, v)
				case "netstack up":
					netAt = append(netAt, v)
				default:
					acceptAt = append(acceptAt, v)
				}
			}
			if m := reHeap.FindStringSubmatch(g.run("mem gc")); m != nil {
				v, _ := strconv.ParseFloat(m[1], 64)
				heapBoot = append(heapBoot, v)
			}
			if b == 0 {
				c := &http.Client{Timeout: 10 * time.Second}
				for i := 0; i < 10000; i++ {
					resp, err := c.Get(g.url("/api/x"))
					if err != nil {
						failures++
						t.Errorf("request %d of 10,000: %v", i, err)
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if m := reHeap.FindStringSubmatch(g.run("mem gc")); m != nil {
					v, _ := strconv.ParseFloat(m[1], 64)
					heapAfter = append(heapAfter, v)
				}
				if _, err := exec.LookPath("wrk"); err == nil {
					out, _ := exec.Command("wrk", "-t1", "-c16", "-d5s", g.url("/api/x")).CombinedOutput()
					if m := reRPS.FindSubmatch(out); m != nil {
						v, _ := strconv.ParseFloat(string(m[1]), 64)
						rps = append(rps, v)
					}
				}
			}
		}
		ln.Close()
		get := func(v []float64) string {
			if len(v) == 0 {
				return "-"
			}
			return strconv.FormatFloat(median(v), 'f', 1, 64)
		}
		rows = append(rows, fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %s | %s MiB | %s MiB | %d | %s |",
			target, elf.Size(), imx, get(mainAt), get(netAt), get(acceptAt), get(first), get(heapBoot), get(heapAfter), failures, get(rps)))
	}
	table := fmt.Sprintf(`# raygate image footprint

%s, QEMU %s, -m 512M, user-mode networking; boot figures are medians of %d boots.
Boot timeline from the console (time since reset); boot-to-first-response is
measured from QEMU's start to the first 200 on the forwarded /healthz. Heap is
Go's heap in use after a GC. req/s: wrk, 16 connections, 5 s, through the
forwarded port to a backend on the host.

| target | ELF bytes | .imx bytes | main (ms) | netstack up (ms) | accepting (ms) | first response (ms) | heap after boot | heap after 10,000 requests | failed of 10,000 | req/s |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
%s
`, time.Now().UTC().Format("2006-01-02"), mode, boots, strings.Join(rows, "\n"))
	fmt.Print(table)
	os.MkdirAll(filepath.Join(repoRoot(t), "bench"), 0o755)
	os.WriteFile(filepath.Join(repoRoot(t), "bench", "IMAGE.md"), []byte(table), 0o644)
}
