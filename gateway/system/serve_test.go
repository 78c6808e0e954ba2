package system_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/system"
)

// startSystem assembles the system from yaml and serves its first listener
// and its admin handler on loopback ports until the test ends. It returns
// the gateway's and the admin listener's base URLs.
func startSystem(t *testing.T, name, yaml string) (gw, admin string) {
	t.Helper()
	cfg, err := config.Parse(name, []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	sys, err := system.New(cfg, system.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sys.Close)
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go sys.Gateway.Serve(gl, cfg.Listeners[0])
	t.Cleanup(func() { gl.Close() })
	al, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(al, sys.AdminHandler())
	t.Cleanup(func() { al.Close() })
	return "http://" + gl.Addr().String(), "http://" + al.Addr().String()
}
