package netstack_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/raygate/raygate/net/memlink"
	"github.com/raygate/raygate/net/netstack"
)

// pair builds two stacks on one in-process wire: 10.0.0.1 and 10.0.0.2.
func pair(t testing.TB) (a, b *netstack.Stack) {
	t.Helper()
	pa, pb := memlink.Pair(1024)
	t.Cleanup(pa.Close)
	mk := func(p *memlink.Port, ip string, mac byte) *netstack.Stack {
		s, err := netstack.New(netstack.Config{
			MAC:     net.HardwareAddr{0x02, 0, 0, 0, 0, mac},
			Address: netip.MustParsePrefix(ip + "/24"),
			Gateway: netip.MustParseAddr("10.0.0.254"),
		}, p)
		if err != nil {
			t.Fatal(err)
		}
		p.SetReceiver(s.Deliver)
		t.Cleanup(s.Close)
		return s
	}
	return mk(pa, "10.0.0.1", 1), mk(pb, "10.0.0.2", 2)
}

func TestHTTPOverNetstack(t *testing.T) {
	a, b := pair(t)

	// The server side goes through Socket, as net.Listen does in the image:
	// the runtime asks for AF_INET6 with a wildcard address for ":8080".
	c, err := a.Socket(context.Background(), "tcp", syscall.AF_INET6, syscall.SOCK_STREAM, &net.TCPAddr{Port: 8080}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln := c.(net.Listener)
	defer ln.Close()

	payload := make([]byte, 4<<20)
	rand.Read(payload)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Got", http.StatusText(200))
		w.Write(body)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	client := &http.Client{
		Transport: &http.Transport{DialContext: b.DialContext},
		Timeout:   30 * time.Second,
	}
	for i := 0; i < 3; i++ { // the second and third ride the kept-alive connection
		resp, err := client.Post("http://10.0.0.1:8080/echo", "application/octet-stream", bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("echo: got %d bytes, want %d identical bytes", len(got), len(payload))
		}
	}
	if n := a.Link.Stats.RxFrames.Load(); n == 0 {
		t.Fatalf("server link counted no frames")
	}
	if n := a.S.Stats().TCP.PassiveConnectionOpenings.Value(); n != 1 {
		t.Errorf("passive opens = %d, want 1 (keep-alive reuse)", n)
	}
}

func TestDialRefusedAndBadAddresses(t *testing.T) {
	_, b := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.DialContext(ctx, "tcp", "10.0.0.1:9"); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	for _, bad := range []string{"10.0.0.1", "10.0.0.1:99999", "[::1]:80", "host.example:80"} {
		if _, err := b.DialContext(ctx, "tcp", bad); err == nil {
			t.Errorf("dial %q: no error", bad)
		}
	}
	if _, err := b.Socket(ctx, "unix", syscall.AF_INET, syscall.SOCK_STREAM, nil, nil); err == nil {
		t.Error("unix socket: no error")
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []netstack.Config{
		{},
		{MAC: net.HardwareAddr{1, 2, 3}, Address: netip.MustParsePrefix("10.0.0.1/24")},
		{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Address: netip.MustParsePrefix("fd00::1/64")},
		{MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Address: netip.MustParsePrefix("10.0.0.1/24"), MTU: 100},
	}
	for i, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("config %d: no error", i)
		}
	}
}

func TestRuntFramesCounted(t *testing.T) {
	a, _ := pair(t)
	a.Deliver([]byte{1, 2, 3})
	a.Deliver(nil)
	if n := a.Link.Stats.RxDropped.Load(); n != 2 {
		t.Fatalf("dropped = %d, want 2", n)
	}
}

func TestLoopback(t *testing.T) {
	a, _ := pair(t)
	ln, err := a.Listen("127.0.0.1:9901")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "lo") }))
	c := &http.Client{Transport: &http.Transport{DialContext: a.DialContext}, Timeout: 5 * time.Second}
	resp, err := c.Get("http://127.0.0.1:9901/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "lo" {
		t.Fatalf("got %q", b)
	}
}
