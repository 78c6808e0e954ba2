package gateway_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/net/memlink"
	"github.com/raygate/raygate/net/netstack"
	"github.com/raygate/raygate/tools/demo"
)

// TestProxyOverNetstack runs the gateway on a gVisor stack, as the image
// does, with the client and the backend on a second stack across an
// in-process wire: the proxy path without QEMU.
func TestProxyOverNetstack(t *testing.T) {
	pa, pb := memlink.Pair(1024)
	t.Cleanup(pa.Close)
	mk := func(p *memlink.Port, ip string, mac byte) *netstack.Stack {
		s, err := netstack.New(netstack.Config{
			MAC:     net.HardwareAddr{2, 0, 0, 0, 0, mac},
			Address: netip.MustParsePrefix(ip + "/24"),
		}, p)
		if err != nil {
			t.Fatal(err)
		}
		p.SetReceiver(s.Deliver)
		t.Cleanup(s.Close)
		return s
	}
	gw, host := mk(pa, "10.0.0.1", 1), mk(pb, "10.0.0.2", 2)

	backendLn, err := host.Listen(":9000")
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(backendLn, &demo.Backend{Name: "b"})
	t.Cleanup(func() { backendLn.Close() })

	cfg, err := config.Parse("test", []byte(`
routes: [{name: api, match: {prefix: /}, service: s}]
services: [{name: s, instances: [{address: "10.0.0.2:9000"}]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(cfg, gateway.Options{Dial: gw.DialContext})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := gw.Listen(":80")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(ln, g.Config().Listeners[0])
	t.Cleanup(func() { ln.Close() })

	client := &http.Client{Transport: &http.Transport{DialContext: host.DialContext}, Timeout: 30 * time.Second}
	for _, size := range []int{200 << 10, 4 << 20} {
		up := make([]byte, size)
		rand.Read(up)
		resp, err := client.Post("http://10.0.0.1/echo", "application/octet-stream", bytes.NewReader(up))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, up) {
			t.Fatalf("echo of %d bytes: got %d back, %v", size, len(got), err)
		}
	}
	resp, err := client.Get("http://10.0.0.1/stream?bytes=8388608")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != 8<<20 {
		t.Fatalf("stream: %d bytes, %v", n, err)
	}
}
