package resilience

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/raygate/raygate/shell"
)

const usage = `resilience breakers
resilience bulkheads
resilience retries
resilience limits
resilience trip|reset <service>`

// RegisterCommands adds the `resilience` console command.
func (r *Resilience) RegisterCommands(reg *shell.Registry) {
	reg.Register(&shell.Command{Name: "resilience", Summary: "circuit breakers, bulkheads, retry budgets, rate limits",
		Usage: usage, Run: r.command})
}

func (r *Resilience) sorted() []*serviceState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*serviceState, 0, len(r.services))
	for _, s := range r.services {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (r *Resilience) command(out io.Writer, args []string) error {
	if len(args) == 0 {
		return shell.Usagef("resilience needs a subcommand")
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	now := r.now()
	switch args[0] {
	case "breakers":
		fmt.Fprintln(tw, "SERVICE\tSTATE\tFAILURE RATE\tSLOW RATE\tVOLUME\tTRIPS\tREJECTED\tIN STATE")
		for _, s := range r.sorted() {
			if s.breaker == nil {
				continue
			}
			b := s.breaker.Info(now)
			fmt.Fprintf(tw, "%s\t%s\t%.0f%%\t%.0f%%\t%d\t%d\t%d\t%s\n", b.Name, b.State, 100*b.FailureRate, 100*b.SlowRate,
				b.Volume, b.Trips, b.Rejected, b.InState.Round(time.Second))
		}
	case "bulkheads":
		fmt.Fprintln(tw, "SERVICE\tCAPACITY\tIN USE\tQUEUED\tQUEUE LIMIT\tREJECTED")
		for _, s := range r.sorted() {
			if b := s.bulk; b != nil {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", s.name, cap(b.slots), len(b.slots), b.queue.Load(), b.maxQueue, b.rejected.Load())
			}
		}
	case "retries":
		fmt.Fprintln(tw, "SERVICE\tPOLICY\tMAX ATTEMPTS\tATTEMPTS\tRETRIES\tBUDGET DENIED\tBUDGET")
		for _, s := range r.sorted() {
			if p := s.policy.Retry; p != nil {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d%% + %d/s\n", s.name, s.policy.Name, p.Attempts, s.attempts.Load(),
					s.retries.Load(), s.denied.Load(), p.BudgetPercent, p.BudgetMinPerSecond)
			}
		}
	case "limits":
		fmt.Fprintln(tw, "LIMIT\tALGORITHM\tRATE\tKEY\tKEYS\tALLOWED\tREJECTED")
		names := make([]string, 0, len(r.limits))
		for n := range r.limits {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			l := r.limits[n]
			l.mu.Lock()
			keys := len(l.keys)
			l.mu.Unlock()
			fmt.Fprintf(tw, "%s\t%s\t%d/%s\t%s\t%d\t%d\t%d\n", n, l.cfg.Algorithm, l.cfg.Requests, l.cfg.Period.D(), l.cfg.Key, keys,
				l.allowed.Load(), l.rejected.Load())
		}
	case "trip", "reset":
		if len(args) != 2 {
			return shell.Usagef("%s <service>", args[0])
		}
		r.mu.Lock()
		s := r.services[args[1]]
		r.mu.Unlock()
		if s == nil || s.breaker == nil {
			return fmt.Errorf("no breaker for service %q (it has served no request yet, or its policy has none)", args[1])
		}
		if args[0] == "trip" {
			s.breaker.Trip(now)
		} else {
			s.breaker.Reset(now)
		}
		fmt.Fprintf(tw, "%s: breaker %s\n", args[1], s.breaker.Info(now).State)
	default:
		return shell.Usagef("unknown subcommand %q", args[0])
	}
	return nil
}

// Breakers describes every breaker (for the admin API and the dashboard).
func (r *Resilience) Breakers() []BreakerInfo {
	now := r.now()
	out := []BreakerInfo{}
	for _, s := range r.sorted() {
		if s.breaker != nil {
			out = append(out, s.breaker.Info(now))
		}
	}
	return out
}
