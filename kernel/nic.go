//go:build tamago

package main

import (
	"io"
	"net"

	"github.com/raygate/raygate/net/netstack"
)

// nic is what a target's network driver gives the kernel.
type nic interface {
	netstack.Device
	netstack.LinkState
	// Name names the device for the console.
	Name() string
	// MAC is the device's hardware address.
	MAC() net.HardwareAddr
	// Start begins polled receive into st (kernel/poll.go).
	Start(st *netstack.Stack)
	// WriteStats prints driver counters for the `net` command.
	WriteStats(w io.Writer)
}
