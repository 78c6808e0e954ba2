//go:build tamago

// Command kernel is the raygate image: it boots the board, brings up the
// network, starts the gateway and runs the console shell. Build it with
// `make image TARGET=...`; the target's board is chosen by build tag
// (target_*.go), the configuration is embedded from config.yaml.
package main

import (
	_ "embed"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"time"

	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/gateway/system"
	"github.com/raygate/raygate/net/netstack"
	"github.com/raygate/raygate/shell"
)

// Version is set at link time (-X main.Version=...).
var Version = "dev"

//go:embed config.yaml
var embeddedConfig []byte

// timeline records boot milestones as time since reset.
type timeline []struct {
	what string
	at   time.Duration
}

func (t *timeline) mark(what string) {
	at := targetSinceReset()
	*t = append(*t, struct {
		what string
		at   time.Duration
	}{what, at})
	fmt.Printf("boot: %6.1f ms  %s\n", float64(at.Microseconds())/1000, what)
}

func main() {
	start := time.Now()
	var boot timeline
	fmt.Printf("raygate %s (%s) target %s, %d CPU, %d MiB RAM for Go\n%s\n",
		Version, runtime.Version(), targetName, runtime.NumCPU(), targetRAM()>>20, targetClock())
	boot.mark("main")

	targetWatchdog()

	reg := shell.NewRegistry()
	sys := shell.System{
		Version:    Version,
		Target:     targetName,
		Detail:     targetClock(),
		Start:      start,
		SinceReset: targetSinceReset,
		RAM:        targetRAM(),
		Reboot:     targetReset,
	}
	sys.Net = func(w io.Writer) { fmt.Fprintln(w, "network: not up (see the boot log)") }

	if err := bringUp(&boot, &sys, reg); err != nil {
		fmt.Printf("boot: %v\nboot: the gateway is not serving; the console stays up\n", err)
	}
	reg.RegisterSystem(sys)
	reg.Register(&shell.Command{
		Name: "boot", Summary: "boot timeline (time since reset)", Usage: "boot",
		Run: func(out io.Writer, args []string) error {
			if len(args) != 0 {
				return shell.Usagef("boot takes no arguments")
			}
			for _, m := range boot {
				fmt.Fprintf(out, "%8.1f ms  %s\n", float64(m.at.Microseconds())/1000, m.what)
			}
			return nil
		},
	})

	fmt.Println("console: type 'help' for commands")
	con := console{targetConsole()}
	for {
		// Ctrl-D ends one session; the console is the only way in, so
		// start another.
		if err := reg.Serve(con, "raygate> "); err != nil {
			fmt.Printf("console: %v\n", err)
			time.Sleep(time.Second)
		}
	}
}

// bringUp parses the embedded configuration, starts the NIC and netstack,
// serves the gateway's listeners and admin API, and registers its commands.
func bringUp(boot *timeline, sys *shell.System, reg *shell.Registry) error {
	cfg, err := config.Parse("embedded config", embeddedConfig)
	if err != nil {
		return err
	}
	if cfg.Network.Address == "" {
		return fmt.Errorf("embedded config: network.address is required in the image")
	}

	dev, err := targetNIC()
	if err != nil {
		return fmt.Errorf("net: %v", err)
	}
	ncfg := netstack.Config{
		MAC:     dev.MAC(),
		Address: netip.MustParsePrefix(cfg.Network.Address),
	}
	if cfg.Network.Gateway != "" {
		ncfg.Gateway = netip.MustParseAddr(cfg.Network.Gateway)
	}
	if cfg.Network.MAC != "" {
		ncfg.MAC, _ = net.ParseMAC(cfg.Network.MAC)
	}
	st, err := netstack.New(ncfg, dev)
	if err != nil {
		return err
	}
	// From here on net.Listen, net.Dial and net/http use the netstack.
	net.SocketFunc = st.Socket
	dev.Start(st)
	sys.Net = func(w io.Writer) {
		st.WriteInfo(w, dev)
		dev.WriteStats(w)
	}
	boot.mark(fmt.Sprintf("netstack up: %s on %s", cfg.Network.Address, dev.Name()))

	gw, err := system.New(cfg, system.Options{})
	if err != nil {
		return err
	}
	g := gw.Gateway
	for _, l := range cfg.Listeners {
		ln, err := net.Listen("tcp", l.Address)
		if err != nil {
			return fmt.Errorf("listener %s %s: %v", l.Name, l.Address, err)
		}
		go func() {
			err := g.Serve(ln, l)
			fmt.Printf("gateway: listener %s stopped: %v\n", l.Name, err)
		}()
	}
	if a := cfg.Admin; a.Address != "" {
		ln, err := net.Listen("tcp", a.Address)
		if err != nil {
			return fmt.Errorf("admin %s: %v", a.Address, err)
		}
		go http.Serve(ln, gw.AdminHandler())
	}
	gw.RegisterCommands(reg)
	boot.mark(fmt.Sprintf("gateway accepting on %d listener(s) (%d routes, %d services)", len(cfg.Listeners), len(cfg.Routes), len(cfg.Services)))
	return nil
}
