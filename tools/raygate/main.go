// Command raygate runs the gateway as a Linux process (hosted mode), on the
// OS network stack, with the same console shell as the image on stdin/stdout.
//
//	raygate -config configs/demo.yaml -demo -listen 127.0.0.1:8080
//
// -demo starts the demo backends the configuration names and makes the
// address the image uses for the host (10.0.0.2, QEMU's alias for the host's
// loopback) reach loopback here too, so one demo file serves both modes.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/raygate/raygate/gateway"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/system"
	"github.com/raygate/raygate/shell"
	"github.com/raygate/raygate/tools/demo"
)

// Version is set at link time (-X main.Version=...).
var Version = "dev"

// hostAlias is the guest's name for the host under QEMU user networking.
const hostAlias = "10.0.0.2"

func main() {
	configPath := flag.String("config", "configs/demo.yaml", "configuration file")
	listen := flag.String("listen", "", "listen address, overriding the configuration's")
	demoMode := flag.Bool("demo", false, "start the demo backends and map "+hostAlias+" to loopback")
	noShell := flag.Bool("no-shell", false, "do not read commands from stdin")
	check := flag.Bool("check", false, "validate the configuration and exit")
	tap := flag.String("tap", "", "serve through gVisor's netstack on this TAP interface (Linux, CAP_NET_ADMIN), as the image does")
	tapAddress := flag.String("tap-address", "10.77.0.1/24", "the netstack's address on -tap")
	flag.Parse()

	if *check {
		if _, err := config.Load(*configPath); err != nil {
			fmt.Fprintln(os.Stderr, "raygate:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: valid\n", *configPath)
		return
	}

	var tn *tapNet
	if *tap != "" {
		var err error
		if tn, err = openTap(*tap, *tapAddress); err != nil {
			fmt.Fprintln(os.Stderr, "raygate:", err)
			os.Exit(1)
		}
	}
	if err := run(*configPath, *listen, *demoMode, *noShell, tn); err != nil {
		fmt.Fprintln(os.Stderr, "raygate:", err)
		os.Exit(1)
	}
}

func run(configPath, listen string, demoMode, noShell bool, tn *tapNet) error {
	start := time.Now()
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	if listen != "" {
		cfg.Listeners[0].Address = listen
	}

	var opts system.Options
	listenOn := net.Listen
	if tn != nil {
		opts.Dial, listenOn = tn.dial, tn.listen
	}
	if demoMode {
		opts.Dial = aliasDialer(hostAlias, "127.0.0.1")
		if err := startDemoBackends(cfg); err != nil {
			return err
		}
	}
	sys, err := system.New(cfg, opts)
	if err != nil {
		return err
	}
	defer sys.Close()
	g := sys.Gateway
	errs := make(chan error, len(cfg.Listeners)+1)
	var addrs []string
	for _, l := range cfg.Listeners {
		ln, err := listenOn("tcp", l.Address)
		if err != nil {
			return fmt.Errorf("listener %s: %v", l.Name, err)
		}
		addrs = append(addrs, ln.Addr().String())
		go func() { errs <- g.Serve(ln, l) }()
	}
	if a := cfg.Admin; a.Address != "" {
		ln, err := net.Listen("tcp", a.Address)
		if err != nil {
			return fmt.Errorf("admin: %v", err)
		}
		go func() { errs <- http.Serve(ln, sys.AdminHandler()) }()
		fmt.Printf("admin API on http://%s/admin/\n", ln.Addr())
	}
	fmt.Printf("raygate %s (%s) hosted, listening on %s, %d routes, %d services, ready in %d ms\n",
		Version, runtime.Version(), strings.Join(addrs, ", "), len(cfg.Routes), len(cfg.Services), time.Since(start).Milliseconds())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)

	if !noShell {
		reg := shell.NewRegistry()
		reg.RegisterSystem(shell.System{Version: Version, Target: "hosted", Start: start})
		sys.RegisterCommands(reg)
		done := make(chan error, 1)
		go func() { done <- serveShell(reg) }()
		select {
		case err := <-done:
			if err != nil {
				return err
			}
			// stdin closed (a pipe, or </dev/null): keep serving until signalled
			select {
			case <-sigs:
			case err := <-errs:
				return err
			}
		case <-sigs:
		case err := <-errs:
			return err
		}
	} else {
		select {
		case <-sigs:
		case err := <-errs:
			return err
		}
	}
	return nil
}

func serveShell(reg *shell.Registry) error {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return reg.ServeLines(os.Stdin, os.Stdout, "")
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return err
	}
	defer term.Restore(fd, old)
	return reg.Serve(stdio{}, "raygate> ")
}

// startDemoBackends serves a demo backend at every loopback (or host alias)
// instance address of the configuration.
func startDemoBackends(cfg *config.Config) error {
	for _, s := range cfg.Services {
		for _, in := range s.Instances {
			host, port, err := net.SplitHostPort(in.Address)
			if err != nil {
				return err
			}
			if host != hostAlias && host != "127.0.0.1" && host != "localhost" {
				continue
			}
			name := s.Name + "@" + port
			if _, err := demo.Serve(name, net.JoinHostPort("127.0.0.1", port)); err != nil {
				return err
			}
		}
	}
	return nil
}

// aliasDialer dials to when asked for from, and anything else as is.
func aliasDialer(from, to string) gateway.DialFunc {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(address); err == nil && host == from {
			address = net.JoinHostPort(to, port)
		}
		return d.DialContext(ctx, network, address)
	}
}

// stdio joins the terminal's input and output.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
