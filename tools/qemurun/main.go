// Command qemurun boots a raygate image in QEMU with the serial console on
// the terminal and a host port forwarded to the gateway (`make qemu`). It
// first starts the demo backends the configuration places on the host
// (10.0.0.2, QEMU's alias for the host's loopback).
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"

	"github.com/raygate/raygate/gateway/config"
	"github.com/raygate/raygate/tools/demo"
	"github.com/raygate/raygate/tools/qemu"
)

func main() {
	target := flag.String("target", "microvm", "board to boot: microvm or mx6ullevk")
	image := flag.String("image", "", "image to boot (ELF)")
	cfgPath := flag.String("config", "configs/demo.yaml", "configuration embedded in the image, for its demo backends")
	port := flag.Int("port", 8080, "host loopback port forwarded to the gateway")
	accel := flag.String("accel", "auto", "kvm, tcg, or auto (KVM when it boots the image, else software emulation)")
	flag.Parse()

	if err := run(*target, *image, *cfgPath, *port, *accel); err != nil {
		fmt.Fprintln(os.Stderr, "qemurun:", err)
		os.Exit(1)
	}
}

func run(target, image, cfgPath string, port int, accel string) error {
	if image == "" {
		return fmt.Errorf("-image is required")
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	_, guestPort, err := net.SplitHostPort(cfg.Listeners[0].Address)
	if err != nil {
		return err
	}
	var gp int
	fmt.Sscan(guestPort, &gp)

	for _, s := range cfg.Services {
		for _, in := range s.Instances {
			host, p, _ := net.SplitHostPort(in.Address)
			if host != "10.0.0.2" {
				continue
			}
			if _, err := demo.Serve(s.Name+"@"+p, "127.0.0.1:"+p); err != nil {
				fmt.Fprintf(os.Stderr, "qemurun: demo backend on 127.0.0.1:%s not started: %v\n", p, err)
			} else {
				fmt.Printf("qemurun: demo backend %s@%s on 127.0.0.1:%s (the guest's 10.0.0.2:%s)\n", s.Name, p, p, p)
			}
		}
	}

	if accel == "auto" {
		accel = "tcg"
		if target == "microvm" && qemu.KVMWorks(image) {
			accel = "kvm"
		}
	}
	bin, args, err := qemu.Args(qemu.Options{Target: target, Image: image, Accel: accel, HostPort: port, GuestPort: gp, Interactive: true})
	if err != nil {
		return err
	}
	fmt.Printf("qemurun: %s emulation; gateway at http://127.0.0.1:%d/ ; quit with Ctrl-A X\n", accel, port)
	fmt.Println(qemu.CommandLine(bin, args))
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}
