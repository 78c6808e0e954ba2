package gateway

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/shell"
)

const gatewayUsage = `gateway status
gateway routes
gateway services
gateway health
gateway route add <route as YAML>     e.g. gateway route add {name: v2, match: {prefix: /v2/}, service: api}
gateway route remove <name>
gateway service add <service as YAML> e.g. gateway service add {name: api, instances: [{address: 10.0.0.2:9000}]}
gateway service remove <name>
gateway config [show]
gateway config validate [file]`

// RegisterCommands adds the `gateway` console command.
func (g *Gateway) RegisterCommands(r *shell.Registry) {
	r.Register(&shell.Command{
		Name:    "gateway",
		Summary: "routes, services, health and configuration of the gateway",
		Usage:   gatewayUsage,
		Run:     g.command,
		// "route add <YAML>": the definition keeps its own quoting
		RawAfter: 2,
	})
	g.registerBalance(r)
}

func (g *Gateway) command(out io.Writer, args []string) error {
	if len(args) == 0 {
		return shell.Usagef("gateway needs a subcommand")
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	switch args[0] {
	case "status":
		if len(args) != 1 {
			return shell.Usagef("status takes no arguments")
		}
		st := g.Stats()
		cfg := g.Config()
		fmt.Fprintf(tw, "uptime\t%s\n", st.Uptime.Round(time.Second))
		for _, l := range cfg.Listeners {
			kind := "http"
			if l.TLS != nil {
				kind = "https, h2"
			}
			fmt.Fprintf(tw, "listener %s\t%s (%s)\n", l.Name, l.Address, kind)
		}
		if cfg.Admin.Address != "" {
			fmt.Fprintf(tw, "admin api\t%s\n", cfg.Admin.Address)
		} else {
			fmt.Fprintf(tw, "admin api\tdisabled\n")
		}
		fmt.Fprintf(tw, "routes\t%d of %d\n", st.Routes, cfg.Limits.MaxRoutes)
		fmt.Fprintf(tw, "services\t%d of %d\n", st.Services, cfg.Limits.MaxServices)
		fmt.Fprintf(tw, "requests\t%d\n", st.Requests)
		fmt.Fprintf(tw, "errors\t%d\n", st.Errors)
		fmt.Fprintf(tw, "in flight\t%d\n", st.InFlight)
		fmt.Fprintf(tw, "config version\t%d\n", st.Version)
	case "routes":
		if len(args) != 1 {
			return shell.Usagef("routes takes no arguments")
		}
		fmt.Fprintln(tw, "NAME\tKIND\tPATTERN\tMETHODS\tPRIORITY\tACTION\tREQUESTS\tERRORS")
		for _, r := range g.Routes() {
			m := strings.Join(r.Methods, ",")
			if m == "" {
				m = "*"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\n", r.Name, r.Kind, r.Pattern, m, r.Priority, r.Action, r.Requests, r.Errors)
		}
	case "services":
		if len(args) != 1 {
			return shell.Usagef("services takes no arguments")
		}
		fmt.Fprintln(tw, "NAME\tHEALTH\tINSTANCES\tREQUESTS\tERRORS\tROUTES")
		for _, s := range g.Services() {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", s.Name, s.Health, len(s.Instances), s.Requests, s.Errors, strings.Join(s.Routes, ","))
		}
	case "health":
		if len(args) != 1 {
			return shell.Usagef("health takes no arguments")
		}
		fmt.Fprintln(tw, "SERVICE\tINSTANCE\tWEIGHT\tHEALTH\tIN FLIGHT\tREQUESTS\tERRORS")
		for _, s := range g.Services() {
			for _, in := range s.Instances {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\n", s.Name, in.Address, in.Weight, in.State, in.InFlight, in.Requests, in.Errors)
			}
		}
	case "route", "service":
		if len(args) < 3 || (args[1] != "add" && args[1] != "remove") {
			return shell.Usagef("%s add <definition> or %s remove <name>", args[0], args[0])
		}
		rest := args[2]
		var err error
		switch {
		case args[0] == "route" && args[1] == "add":
			var r config.Route
			if r, err = config.ParseRoute(rest); err == nil {
				err = g.AddRoute(r)
			}
		case args[0] == "route":
			err = g.RemoveRoute(rest)
		case args[1] == "add":
			var s config.Service
			if s, err = config.ParseService(rest); err == nil {
				err = g.AddService(s)
			}
		default:
			err = g.RemoveService(rest)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "ok: config version %d\n", g.Stats().Version)
	case "config":
		switch {
		case len(args) == 1 || len(args) == 2 && args[1] == "show":
			data, err := g.Config().Marshal()
			if err != nil {
				return err
			}
			tw.Write(data)
		case len(args) == 2 && args[1] == "validate":
			if err := g.Config().Validate(); err != nil {
				return err
			}
			fmt.Fprintln(tw, "running configuration: valid")
		case len(args) == 3 && args[1] == "validate":
			if _, err := config.Load(args[2]); err != nil {
				if os.IsNotExist(err) {
					return fmt.Errorf("%s: no such file (the image has no filesystem)", args[2])
				}
				return err
			}
			fmt.Fprintf(tw, "%s: valid\n", args[2])
		default:
			return shell.Usagef("config [show] or config validate [file]")
		}
	default:
		return shell.Usagef("unknown subcommand %q", args[0])
	}
	return nil
}
