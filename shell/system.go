package shell

import (
	"fmt"
	"io"
	"runtime"
	"time"
)

// System describes the machine for the system commands.
type System struct {
	// Version is raygate's version string.
	Version string
	// Target names the board ("microvm", "mx6ullevk", "usbarmory", "hosted").
	Target string
	// Detail is a free-form line for `version` (clock source, SoC model).
	Detail string
	// Start is when the system started, for `uptime`.
	Start time.Time
	// SinceReset, if set, gives the time since hardware reset (image only).
	SinceReset func() time.Duration
	// RAM is the memory available to the Go runtime in bytes; 0 if unknown.
	RAM uint64
	// Net prints interface and counter information; nil means no network.
	Net func(w io.Writer)
	// Reboot restarts the machine; nil means `reboot` is not supported.
	Reboot func()
}

// RegisterSystem adds version, uptime, mem, net and reboot.
func (r *Registry) RegisterSystem(s System) {
	r.Register(&Command{
		Name: "version", Summary: "raygate version, Go version and target", Usage: "version",
		Run: func(out io.Writer, args []string) error {
			if len(args) != 0 {
				return Usagef("version takes no arguments")
			}
			fmt.Fprintf(out, "raygate %s (%s) target %s, %d CPU\n", s.Version, runtime.Version(), s.Target, runtime.NumCPU())
			if s.Detail != "" {
				fmt.Fprintln(out, s.Detail)
			}
			return nil
		},
	})
	r.Register(&Command{
		Name: "uptime", Summary: "time since start", Usage: "uptime",
		Run: func(out io.Writer, args []string) error {
			if len(args) != 0 {
				return Usagef("uptime takes no arguments")
			}
			fmt.Fprintf(out, "up %s", time.Since(s.Start).Round(time.Millisecond))
			if s.SinceReset != nil {
				fmt.Fprintf(out, " (%s since reset)", s.SinceReset().Round(time.Millisecond))
			}
			fmt.Fprintln(out)
			return nil
		},
	})
	r.Register(&Command{
		Name: "mem", Summary: "Go runtime memory figures", Usage: "mem [gc]",
		Run: func(out io.Writer, args []string) error {
			switch {
			case len(args) == 1 && args[0] == "gc":
				runtime.GC()
			case len(args) != 0:
				return Usagef("unknown argument %q", args[0])
			}
			writeMem(out, s.RAM)
			return nil
		},
	})
	r.Register(&Command{
		Name: "net", Summary: "addresses, link state, packet and error counters", Usage: "net",
		Run: func(out io.Writer, args []string) error {
			if len(args) != 0 {
				return Usagef("net takes no arguments")
			}
			if s.Net == nil {
				fmt.Fprintln(out, "network: the host's (hosted mode uses the OS stack)")
				return nil
			}
			s.Net(out)
			return nil
		},
	})
	r.Register(&Command{
		Name: "reboot", Summary: "restart the machine", Usage: "reboot",
		Run: func(out io.Writer, args []string) error {
			if len(args) != 0 {
				return Usagef("reboot takes no arguments")
			}
			if s.Reboot == nil {
				return fmt.Errorf("reboot is not supported on target %s", s.Target)
			}
			fmt.Fprintln(out, "rebooting")
			s.Reboot()
			return nil
		},
	})
}

func writeMem(out io.Writer, ram uint64) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	mib := func(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	if ram != 0 {
		fmt.Fprintf(out, "ram          %s for the Go runtime\n", mib(ram))
	}
	fmt.Fprintf(out, "heap         %s in use, %s allocated, %s from system, %d objects\n",
		mib(m.HeapInuse), mib(m.HeapAlloc), mib(m.HeapSys), m.HeapObjects)
	fmt.Fprintf(out, "stacks       %s in use\n", mib(m.StackInuse))
	fmt.Fprintf(out, "total        %s from system, %s allocated over lifetime\n", mib(m.Sys), mib(m.TotalAlloc))
	var last time.Duration
	if m.NumGC > 0 {
		last = time.Duration(m.PauseNs[(m.NumGC+255)%256])
	}
	fmt.Fprintf(out, "gc           %d cycles, last pause %s, total pause %s, next at %s\n",
		m.NumGC, last, time.Duration(m.PauseTotalNs), mib(m.NextGC))
	fmt.Fprintf(out, "goroutines   %d\n", runtime.NumGoroutine())
}
