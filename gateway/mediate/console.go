package mediate

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/shell"
)

const usage = `mediate policies
mediate schemas
mediate transforms [route]
mediate cache
mediate cache flush [route]`

// RegisterCommands adds the `mediate` console command; routes returns the
// routes in force (to show which route applies which policy).
func (m *Mediate) RegisterCommands(reg *shell.Registry, routes func() []config.Route) {
	reg.Register(&shell.Command{Name: "mediate", Summary: "schemas, transforms, conversion and the response cache",
		Usage: usage, Run: func(out io.Writer, args []string) error { return m.command(out, args, routes()) }})
}

func (m *Mediate) command(out io.Writer, args []string, routes []config.Route) error {
	if len(args) == 0 {
		return shell.Usagef("mediate needs a subcommand")
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	switch args[0] {
	case "policies":
		if len(args) > 1 {
			return shell.Usagef("mediate policies takes no arguments")
		}
		fmt.Fprintln(tw, "POLICY\tROUTES\tREQUEST\tRESPONSE\tCACHE\tREFUSED REQ\tREFUSED RESP\tCONVERSIONS\tSKIPPED STEPS")
		for _, n := range m.names {
			p := m.policies[n]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", n, orDash(strings.Join(routesOf(routes, n), ",")),
				p.describeRequest(), p.describeResponse(), p.describeCache(),
				p.requestsRefused.Load(), p.responsesRefused.Load(), p.conversions.Load(), p.transformSkips.Load())
		}
	case "schemas":
		if len(args) > 1 {
			return shell.Usagef("mediate schemas takes no arguments")
		}
		names := make([]string, 0, len(m.schemas))
		for n := range m.schemas {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintln(tw, "SCHEMA\tVALIDATIONS\tFAILURES")
		for _, n := range names {
			s := m.schemas[n]
			fmt.Fprintf(tw, "%s\t%d\t%d\n", n, s.validations.Load(), s.failures.Load())
		}
	case "transforms":
		if len(args) > 2 {
			return shell.Usagef("mediate transforms takes at most a route")
		}
		found := false
		for _, r := range routes {
			if len(args) == 2 && r.Name != args[1] {
				continue
			}
			found = true
			p := m.policies[r.Mediation]
			if p == nil {
				if len(args) == 2 {
					fmt.Fprintf(tw, "route %s: no mediation policy\n", r.Name)
				}
				continue
			}
			fmt.Fprintf(tw, "route %s (policy %s)\n", r.Name, p.cfg.Name)
			if p.reqTransforms != nil {
				fmt.Fprintln(tw, "  request:")
				for _, l := range p.reqTransforms.Describe() {
					fmt.Fprintf(tw, "    %s\n", l)
				}
			}
			if p.respTransforms != nil {
				fmt.Fprintln(tw, "  response:")
				for _, l := range p.respTransforms.Describe() {
					fmt.Fprintf(tw, "    %s\n", l)
				}
			}
			if p.reqTransforms == nil && p.respTransforms == nil {
				fmt.Fprintln(tw, "  no transforms")
			}
		}
		if !found {
			return fmt.Errorf("no route named %q", args[1])
		}
	case "cache":
		if len(args) >= 2 {
			if args[1] != "flush" || len(args) > 3 {
				return shell.Usagef("mediate cache [flush [route]]")
			}
			route := ""
			if len(args) == 3 {
				route = args[2]
				if !hasRoute(routes, route) {
					return fmt.Errorf("no route named %q", route)
				}
			}
			n := m.store.Flush(route)
			fmt.Fprintf(tw, "flushed %d entr%s\n", n, map[bool]string{true: "y", false: "ies"}[n == 1])
			return nil
		}
		s := m.store.Stats()
		fmt.Fprintf(tw, "entries %d of %d, %s of %s, %d fetch(es) in flight\n", s.Entries, s.MaxEntries, size(s.Bytes), size(s.MaxBytes), s.InFlight)
		fmt.Fprintln(tw, "ROUTE\tENTRIES\tBYTES\tHITS\tSTALE\tMISSES\tHIT RATIO\tSTORES\tEVICTIONS\tREVALIDATED\t304s\tCOLLAPSED\tBYPASSED")
		for _, n := range s.RouteNames() {
			r := s.Routes[n]
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%.1f%%\t%d\t%d\t%d\t%d\t%d\t%d\n", n, r.Entries, size(r.Bytes), r.Hits, r.StaleHits,
				r.Misses, 100*r.HitRatio(), r.Stores, r.Evictions, r.Revalidations, r.NotModified, r.Collapsed, r.Bypasses)
		}
	default:
		return shell.Usagef("unknown subcommand %q", args[0])
	}
	return nil
}

func routesOf(routes []config.Route, policy string) []string {
	var out []string
	for _, r := range routes {
		if r.Mediation == policy {
			out = append(out, r.Name)
		}
	}
	return out
}

func hasRoute(routes []config.Route, name string) bool {
	for _, r := range routes {
		if r.Name == name {
			return true
		}
	}
	return false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (p *policy) describeRequest() string {
	var parts []string
	if p.paramsSchema != nil {
		parts = append(parts, "params:"+p.paramsSchema.name)
	}
	if p.querySchema != nil {
		parts = append(parts, "query:"+p.querySchema.name)
	}
	if p.reqSchema != nil {
		parts = append(parts, "schema:"+p.reqSchema.name)
	}
	if p.reqConvert != nil {
		parts = append(parts, "to:"+p.reqConvert.to)
	}
	if p.reqTransforms != nil {
		parts = append(parts, fmt.Sprintf("%d transforms", p.reqTransforms.Len()))
	}
	return orDash(strings.Join(parts, " "))
}

func (p *policy) describeResponse() string {
	var parts []string
	if p.respSchema != nil {
		parts = append(parts, "schema:"+p.respSchema.name)
	}
	if p.respTransforms != nil {
		parts = append(parts, fmt.Sprintf("%d transforms", p.respTransforms.Len()))
	}
	if p.respConvert != nil {
		parts = append(parts, "to:"+p.respConvert.to)
	}
	return orDash(strings.Join(parts, " "))
}

func (p *policy) describeCache() string {
	c := p.cfg.Cache
	if c == nil {
		return "-"
	}
	s := "ttl " + c.TTL.D().String()
	if c.StaleWhileRevalidate > 0 {
		s += " swr " + c.StaleWhileRevalidate.D().String()
	}
	return s
}
