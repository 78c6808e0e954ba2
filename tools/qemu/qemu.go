// Package qemu builds the QEMU command line that boots a raygate image, for
// `make qemu` (tools/qemurun) and the image tests (tools/imagetest), so both
// boot the image the same way. Every command it runs is printed by callers.
package qemu

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Targets are the boards QEMU can boot.
var Targets = []string{"microvm", "mx6ullevk"}

// Options describe one boot.
type Options struct {
	// Target is "microvm" or "mx6ullevk".
	Target string
	// Image is the path of the ELF to boot.
	Image string
	// Accel is "kvm" or "tcg" (software emulation); "" means tcg.
	Accel string
	// HostPort is the host loopback port forwarded to the guest's GuestPort.
	HostPort, GuestPort int
	// Extra forwards, "hostport-guestport" pairs (for an admin listener).
	Extra [][2]int
	// NoReboot makes a guest reset end QEMU (tests want a panic to stop it).
	NoReboot bool
	// Interactive multiplexes QEMU's monitor onto the console, so a person
	// can quit with Ctrl-A X (Ctrl-C goes to the guest's shell).
	Interactive bool
}

// Args returns the qemu-system binary and its arguments.
func Args(o Options) (string, []string, error) {
	fwd := fmt.Sprintf("hostfwd=tcp:127.0.0.1:%d-10.0.0.1:%d", o.HostPort, o.GuestPort)
	for _, e := range o.Extra {
		fwd += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-10.0.0.1:%d", e[0], e[1])
	}
	netdev := "user,id=net0,net=10.0.0.0/24,host=10.0.0.2," + fwd
	serial := []string{"-monitor", "none", "-serial", "stdio"}
	if o.Interactive {
		serial = []string{"-serial", "mon:stdio"}
	}
	var bin string
	var args []string
	switch o.Target {
	case "microvm":
		bin = "qemu-system-x86_64"
		args = []string{
			"-machine", "microvm,x-option-roms=on,pit=on,pic=off,rtc=on",
			"-global", "virtio-mmio.force-legacy=false",
		}
		if o.Accel == "kvm" {
			args = append(args, "-enable-kvm", "-cpu", "host,invtsc=on,kvmclock=on")
		} else {
			args = append(args, "-accel", "tcg", "-cpu", "max")
		}
		args = append(args, "-m", "512M", "-nographic")
		args = append(args, serial...)
		args = append(args, "-device", "virtio-net-device,netdev=net0", "-netdev", netdev)
	case "mx6ullevk":
		if o.Accel == "kvm" {
			return "", nil, fmt.Errorf("qemu: KVM cannot run the ARM target on this host")
		}
		bin = "qemu-system-arm"
		args = []string{
			"-machine", "mcimx6ul-evk", "-cpu", "cortex-a7", "-m", "512M", "-nographic",
		}
		args = append(args, serial...)
		args = append(args, "-serial", "null",
			"-nic", "user,model=imx.enet,"+strings.TrimPrefix(netdev, "user,id=net0,"))
	default:
		return "", nil, fmt.Errorf("qemu: target %q cannot boot in QEMU (have %s)", o.Target, strings.Join(Targets, ", "))
	}
	if o.NoReboot {
		args = append(args, "-no-reboot")
	}
	args = append(args, "-kernel", o.Image)
	return bin, args, nil
}

// CommandLine renders bin and args as one shell-pasteable line.
func CommandLine(bin string, args []string) string {
	var b strings.Builder
	b.WriteString(bin)
	for _, a := range args {
		b.WriteByte(' ')
		if strings.ContainsAny(a, " ,=") && !strings.ContainsAny(a, "'") {
			b.WriteString("'" + a + "'")
		} else {
			b.WriteString(a)
		}
	}
	return b.String()
}

// KVMWorks reports whether the microvm image boots under KVM here: /dev/kvm
// must open, and a trial boot must reach main within a few seconds (nested,
// paravirtual KVM flavours fault at boot, and then software emulation is used).
func KVMWorks(image string) bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	bin, args, err := Args(Options{Target: "microvm", Image: image, Accel: "kvm", HostPort: 0, GuestPort: 80, NoReboot: true})
	if err != nil {
		return false
	}
	// no forwarding needed for the probe
	for i, a := range args {
		if strings.HasPrefix(a, "user,id=net0") {
			args[i] = "user,id=net0"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	out := &Log{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return false
	}
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		if out.Contains("ms  main") {
			cmd.Process.Kill()
			cmd.Wait()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	return false
}

// Log collects a guest's console output; it is safe for concurrent use.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Contains reports whether s was written.
func (l *Log) Contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Contains(l.buf.Bytes(), []byte(s))
}

// Len returns the number of bytes written.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Len()
}
