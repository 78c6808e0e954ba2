package metrics

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/raygate/raygate/shell"
)

const usage = `apimetrics services
apimetrics latency [service]
apimetrics errors
apimetrics routes
apimetrics reset
apimetrics top [seconds]   refreshes every second until a key is pressed (or for seconds)`

// RegisterCommands adds the `apimetrics` console command.
func (m *Metrics) RegisterCommands(r *shell.Registry) {
	r.Register(&shell.Command{Name: "apimetrics", Summary: "requests, rates, errors and latency percentiles per service and route",
		Usage: usage, Run: m.command, Interactive: m.top})
}

func ms(v float64) string { return fmt.Sprintf("%.2fms", v) }

func (m *Metrics) command(out io.Writer, args []string) error {
	if len(args) == 0 {
		return shell.Usagef("apimetrics needs a subcommand")
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	snap := m.Snapshot()
	switch args[0] {
	case "services", "routes":
		if len(args) != 1 {
			return shell.Usagef("%s takes no arguments", args[0])
		}
		list := snap.Services
		head := "SERVICE"
		if args[0] == "routes" {
			list, head = snap.Routes, "ROUTE"
		}
		fmt.Fprintf(tw, "%s\tREQUESTS\tRPS 1s/10s/60s\tERROR RATE\tIN FLIGHT\tP50\tP99\n", head)
		for _, f := range list {
			fmt.Fprintf(tw, "%s\t%d\t%.1f/%.1f/%.1f\t%.2f%%\t%d\t%s\t%s\n", f.Name, f.Requests, f.RPS[0], f.RPS[1], f.RPS[2],
				100*f.ErrorRate, f.InFlight, ms(f.Total.P50), ms(f.Total.P99))
		}
	case "latency":
		if len(args) > 2 {
			return shell.Usagef("latency takes at most a service")
		}
		fmt.Fprintln(tw, "SERVICE\tKIND\tCOUNT\tP50\tP95\tP99\tP999\tMIN\tMEAN\tMAX")
		found := false
		for _, f := range snap.Services {
			if len(args) == 2 && f.Name != args[1] {
				continue
			}
			found = true
			for _, k := range []struct {
				name string
				l    Latency
			}{{"total", f.Total}, {"upstream", f.Upstream}, {"overhead", f.Overhead}} {
				l := k.l
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, k.name, l.Count, ms(l.P50), ms(l.P95), ms(l.P99),
					ms(l.P999), ms(l.Min), ms(l.Mean), ms(l.Max))
			}
		}
		if !found && len(args) == 2 {
			return fmt.Errorf("no traffic recorded for service %q", args[1])
		}
	case "errors":
		fmt.Fprintln(tw, "SERVICE\tCLASS OR REASON\tCOUNT")
		for _, f := range snap.Services {
			for _, c := range []string{"4xx", "5xx", "none"} {
				if n := f.Classes[c]; n > 0 {
					fmt.Fprintf(tw, "%s\t%s\t%d\n", f.Name, c, n)
				}
			}
			for r, n := range f.Reasons {
				fmt.Fprintf(tw, "%s\tgateway: %s\t%d\n", f.Name, r, n)
			}
		}
	case "reset":
		m.Reset()
		fmt.Fprintln(tw, "new window started; lifetime totals kept")
	case "top":
		return fmt.Errorf("top needs an interactive console")
	default:
		return shell.Usagef("unknown subcommand %q", args[0])
	}
	return nil
}

// top redraws the services table every second until a key arrives on in
// (or for the given number of seconds).
func (m *Metrics) top(in io.Reader, out io.Writer, args []string) error {
	if len(args) == 0 || args[0] != "top" {
		return m.command(out, args)
	}
	limit := time.Duration(0)
	if len(args) == 2 {
		var s int
		if _, err := fmt.Sscan(args[1], &s); err != nil || s < 1 {
			return shell.Usagef("seconds %q is not a positive number", args[1])
		}
		limit = time.Duration(s) * time.Second
	}
	key := make(chan struct{}, 1)
	go func() {
		b := make([]byte, 1)
		in.Read(b)
		key <- struct{}{}
	}()
	start := time.Now()
	for {
		fmt.Fprint(out, "\x1b[H\x1b[2J") // home, clear
		fmt.Fprintf(out, "raygate apimetrics top  %s  (any key to stop)\n\n", time.Now().UTC().Format("15:04:05"))
		m.command(out, []string{"services"})
		select {
		case <-key:
			return nil
		case <-time.After(time.Second):
		}
		if limit > 0 && time.Since(start) >= limit {
			return nil
		}
	}
}
