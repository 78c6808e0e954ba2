package gateway

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/raygate/raygate/gateway/balance"
	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/shell"
)

// Pool returns the named service's pool in the snapshot in force.
func (g *Gateway) Pool(service string) (*balance.Pool, error) {
	svc := g.snap.Load().services[service]
	if svc == nil {
		return nil, notFound("no service named %q", service)
	}
	return svc.pool, nil
}

// SetStrategy changes a service's balancing strategy (a configuration
// change: it shows in `gateway config` and survives reloads of routes).
func (g *Gateway) SetStrategy(service, strategy string) error {
	if !slices.Contains(config.Strategies, strategy) {
		return fmt.Errorf("%q is not one of %s", strategy, strings.Join(config.Strategies, ", "))
	}
	return g.editService(service, func(s *config.Service) error {
		s.Strategy = strategy
		if strategy != "consistent_hash" {
			s.HashOn = ""
		}
		return nil
	})
}

// SetWeight changes a configured instance's weight.
func (g *Gateway) SetWeight(service, addr string, weight int) error {
	return g.editService(service, func(s *config.Service) error {
		for i := range s.Instances {
			if s.Instances[i].Address == addr {
				s.Instances[i].Weight = &weight
				return nil
			}
		}
		return notFound("service %q has no configured instance %s (discovered instances weigh 1)", service, addr)
	})
}

// AddInstance registers an instance with a service at run time.
func (g *Gateway) AddInstance(service, addr string, weight int) error {
	return g.editService(service, func(s *config.Service) error {
		for _, in := range s.Instances {
			if in.Address == addr {
				return conflictf("service %q already has instance %s", service, addr)
			}
		}
		s.Instances = append(s.Instances, config.Instance{Address: addr, Weight: &weight})
		return nil
	})
}

// RemoveInstance removes an instance: it takes no new requests, and the
// requests it is serving finish (they hold the instance, not the snapshot).
func (g *Gateway) RemoveInstance(service, addr string) error {
	return g.editService(service, func(s *config.Service) error {
		for i, in := range s.Instances {
			if in.Address == addr {
				s.Instances = append(s.Instances[:i], s.Instances[i+1:]...)
				return nil
			}
		}
		return notFound("service %q has no configured instance %s", service, addr)
	})
}

func (g *Gateway) editService(name string, edit func(*config.Service) error) error {
	return g.change(func(c *config.Config) error {
		for i := range c.Services {
			if c.Services[i].Name == name {
				return edit(&c.Services[i])
			}
		}
		return notFound("no service named %q", name)
	})
}

// SetInstanceState drains, disables or enables an instance (runtime state,
// not configuration: it lasts until changed or the instance leaves).
func (g *Gateway) SetInstanceState(service, addr, action string) error {
	p, err := g.Pool(service)
	if err != nil {
		return err
	}
	in := p.Instance(addr)
	if in == nil {
		return notFound("service %q has no instance %s", service, addr)
	}
	switch action {
	case "drain":
		in.SetDraining(true)
	case "disable":
		in.SetDisabled(true)
	case "enable":
		in.SetDraining(false)
		in.SetDisabled(false)
	default:
		return fmt.Errorf("unknown action %q", action)
	}
	return nil
}

const balanceUsage = `balance pools
balance instances [service]
balance add <service> <instance> [weight]
balance remove <service> <instance>
balance strategy <service> [round_robin|least_conn|weighted_round_robin|consistent_hash]
balance weight <service> <instance> <n>
balance drain|enable|disable <service> <instance>
balance check <service>`

// registerBalance adds the `balance` console command.
func (g *Gateway) registerBalance(r *shell.Registry) {
	r.Register(&shell.Command{Name: "balance", Summary: "pools, instances, strategies, weights, drains and health checks",
		Usage: balanceUsage, Run: g.balanceCommand})
}

func (g *Gateway) balanceCommand(out io.Writer, args []string) error {
	if len(args) == 0 {
		return shell.Usagef("balance needs a subcommand")
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	switch args[0] {
	case "pools":
		if len(args) != 1 {
			return shell.Usagef("pools takes no arguments")
		}
		fmt.Fprintln(tw, "SERVICE\tSTRATEGY\tINSTANCES\tHEALTHY\tHEALTH\tDISCOVERY")
		for _, s := range g.Services() {
			p, _ := g.Pool(s.Name)
			healthy := 0
			for _, in := range s.Instances {
				if in.State == "healthy" || in.State == "unknown" {
					healthy++
				}
			}
			disc := "static"
			if d := p.Discovery(); d != nil {
				disc = d.Name
				if d.LastError != "" {
					disc += " (failing: " + d.LastError + ")"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", s.Name, s.Strategy, len(s.Instances), healthy, s.Health, disc)
		}
	case "instances":
		if len(args) > 2 {
			return shell.Usagef("instances takes at most a service")
		}
		fmt.Fprintln(tw, "SERVICE\tINSTANCE\tWEIGHT\tSTATE\tIN FLIGHT\tREQUESTS\tERRORS\tEJECTIONS\tLATENCY\tLAST CHECK")
		found := false
		for _, s := range g.Services() {
			if len(args) == 2 && s.Name != args[1] {
				continue
			}
			found = true
			for _, in := range s.Instances {
				st := in.State
				if in.Draining {
					st += ",draining"
				}
				if in.Disabled {
					st += ",disabled"
				}
				check := in.LastCheck
				if check == "" {
					check = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", s.Name, in.Address, in.Weight, st, in.InFlight,
					in.Requests, in.Errors, in.Ejections, in.Latency.Round(time.Microsecond), check)
			}
		}
		if !found {
			return fmt.Errorf("no service named %q", args[1])
		}
	case "add":
		if len(args) < 3 || len(args) > 4 {
			return shell.Usagef("add <service> <instance> [weight]")
		}
		w := 1
		if len(args) == 4 {
			var err error
			if w, err = strconv.Atoi(args[3]); err != nil || w < 0 || w > 1000 {
				return shell.Usagef("weight %q is not 0..1000", args[3])
			}
		}
		if err := g.AddInstance(args[1], args[2], w); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s: added %s (weight %d)\n", args[1], args[2], w)
	case "remove":
		if len(args) != 3 {
			return shell.Usagef("remove <service> <instance>")
		}
		if err := g.RemoveInstance(args[1], args[2]); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s: removed %s (requests in flight finish)\n", args[1], args[2])
	case "strategy":
		switch len(args) {
		case 2:
			p, err := g.Pool(args[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%s\n", args[1], p.Config().Strategy)
		case 3:
			if err := g.SetStrategy(args[1], args[2]); err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s: strategy %s\n", args[1], args[2])
		default:
			return shell.Usagef("strategy <service> [name]")
		}
	case "weight":
		if len(args) != 4 {
			return shell.Usagef("weight <service> <instance> <n>")
		}
		w, err := strconv.Atoi(args[3])
		if err != nil || w < 0 || w > 1000 {
			return shell.Usagef("weight %q is not 0..1000", args[3])
		}
		if err := g.SetWeight(args[1], args[2], w); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s %s: weight %d\n", args[1], args[2], w)
	case "drain", "enable", "disable":
		if len(args) != 3 {
			return shell.Usagef("%s <service> <instance>", args[0])
		}
		if err := g.SetInstanceState(args[1], args[2], args[0]); err != nil {
			return err
		}
		done := map[string]string{"drain": "draining", "enable": "enabled", "disable": "disabled"}[args[0]]
		fmt.Fprintf(tw, "%s %s: %s\n", args[1], args[2], done)
	case "check":
		if len(args) != 2 {
			return shell.Usagef("check <service>")
		}
		p, err := g.Pool(args[1])
		if err != nil {
			return err
		}
		res := p.CheckNow(balance.DialFunc(g.dial))
		if res == nil {
			return fmt.Errorf("service %q has no health_check configured", args[1])
		}
		addrs := make([]string, 0, len(res))
		for a := range res {
			addrs = append(addrs, a)
		}
		sort.Strings(addrs)
		fmt.Fprintln(tw, "INSTANCE\tRESULT\tSTATE")
		for _, a := range addrs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a, res[a], p.State(p.Instance(a)))
		}
	default:
		return shell.Usagef("unknown subcommand %q", args[0])
	}
	return nil
}
