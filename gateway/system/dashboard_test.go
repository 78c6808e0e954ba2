package system_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raygate/raygate/tools/demo"
)

func chromium() string {
	for _, c := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	return ""
}

// TestDashboardRendersInChromium serves the gateway under light load and
// loads the dashboard in headless Chromium: the page must fetch data and
// draw a chart card per service. A screenshot is saved as an artifact.
func TestDashboardRendersInChromium(t *testing.T) {
	browser := chromium()
	if browser == "" {
		t.Skip("SKIP: chromium not installed (apt-get install chromium; .ci/run installs it)")
	}
	b, err := demo.Serve("b", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	gw, admin := startSystem(t, "dash.yaml", fmt.Sprintf(`listeners: [{address: "127.0.0.1:0"}]
admin: {address: "127.0.0.1:0", token: "dashboard-test-token-123"}
routes:
  - {name: api, match: {prefix: /api/}, service: api}
  - {name: shop, match: {prefix: /shop/}, service: shop}
services:
  - {name: api, instances: [{address: %q}]}
  - {name: shop, instances: [{address: %q}]}
`, b.Addr(), b.Addr()))

	// light load on both services, with some errors
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			for _, p := range []string{"/api/x", "/shop/y", "/nope"} {
				if resp, err := http.Get(gw + p); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	time.Sleep(1500 * time.Millisecond)

	url := admin + "/dashboard/#token=dashboard-test-token-123"
	profile := t.TempDir()
	common := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile,
		"--virtual-time-budget=4000", "--window-size=1280,900"}
	run := func(extra ...string) []byte {
		cctx, ccancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer ccancel()
		out, err := exec.CommandContext(cctx, browser, append(append(common, extra...), url)...).Output()
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		return out
	}
	dom := string(run("--dump-dom"))
	m := regexp.MustCompile(`data-points="(\d+)"`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the dashboard drew nothing:\n%.2000s", dom)
	}
	if n, _ := strconv.Atoi(m[1]); n < 2 {
		t.Fatalf("only %d refreshes", n)
	}
	for _, want := range []string{`id="svc-api"`, `id="svc-shop"`, `id="svc-(direct)"`, "<canvas", "requests"} {
		if !strings.Contains(dom, want) {
			t.Errorf("dashboard lacks %s", want)
		}
	}
	if strings.Contains(dom, `<div id="status">error`) {
		t.Errorf("dashboard reports an error")
	}
	art := filepath.Join("..", "..", "build", "artifacts")
	os.MkdirAll(art, 0o755)
	shot, _ := filepath.Abs(filepath.Join(art, "dashboard.png"))
	run("--screenshot=" + shot)
	if st, err := os.Stat(shot); err != nil || st.Size() < 5000 {
		t.Fatalf("screenshot: %v", err)
	}
	t.Logf("dashboard: %s refreshes rendered; screenshot %s", m[1], shot)
}
