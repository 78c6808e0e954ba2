//go:build linux

package tapdev_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/raygate/raygate/net/netstack"
	"github.com/raygate/raygate/net/tapdev"
)

// TestHTTPOverTap serves HTTP from gVisor's netstack on a TAP interface and
// fetches it with this host's kernel TCP: the hosted mode's netstack path.
// It needs CAP_NET_ADMIN and /dev/net/tun (root on the CI machine).
func TestHTTPOverTap(t *testing.T) {
	const name = "rgtest0"
	exec.Command("ip", "link", "del", name).Run()
	if out, err := exec.Command("ip", "tuntap", "add", "dev", name, "mode", "tap").CombinedOutput(); err != nil {
		t.Skipf("no TAP interface here (needs root and /dev/net/tun): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", name).Run() })
	for _, args := range [][]string{{"addr", "add", "10.79.0.2/24", "dev", name}, {"link", "set", name, "up"}} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	mac := net.HardwareAddr{0x02, 0, 0, 0, 0x79, 1}
	tap, err := tapdev.Open(name, mac)
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	st, err := netstack.New(netstack.Config{MAC: mac, Address: netip.MustParsePrefix("10.79.0.1/24")}, tap)
	if err != nil {
		t.Fatal(err)
	}
	tap.Start(st.Link.Deliver)
	ln, err := st.Listen("10.79.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "netstack saw %s", r.URL.Path)
	}))
	c := &http.Client{Timeout: 5 * time.Second}
	var body []byte
	for i := 0; i < 20; i++ { // the first SYN may wait on ARP
		resp, err := c.Get("http://10.79.0.1:8080/hello")
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		break
	}
	if string(body) != "netstack saw /hello" {
		t.Fatalf("got %q", body)
	}
	if tap.RxFrames.Load() == 0 || tap.TxFrames.Load() == 0 {
		t.Errorf("frames: rx %d tx %d", tap.RxFrames.Load(), tap.TxFrames.Load())
	}
}
