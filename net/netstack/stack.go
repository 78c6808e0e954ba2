// Package netstack runs gVisor's TCP/IP stack over a raygate NIC driver.
//
// It holds the Ethernet link endpoint (link.go), the stack set-up from a
// static address, netmask and gateway (this file), and the socket functions
// that make net.Listen, net.Dial and net/http work unchanged on GOOS=tamago
// (socket.go). It builds and is tested on Linux too: drivers are reached only
// through the Device interface, so net/memlink can stand in for a wire.
//
// It may import gVisor; it must not import board/, kernel/ or TamaGo.
package netstack

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// NIC identifiers: the Ethernet NIC the stack drives, and loopback (so
// 127.0.0.1 works inside the image as it does on any host).
const (
	NICID         tcpip.NICID = 1
	LoopbackNICID tcpip.NICID = 2
)

// Config is the static IP configuration of the stack.
type Config struct {
	// MAC is the interface's hardware address. Required.
	MAC net.HardwareAddr
	// Address is the interface address with its prefix, e.g. 10.0.0.1/24.
	Address netip.Prefix
	// Gateway is the default route's next hop; zero means no default route.
	Gateway netip.Addr
	// MTU is the IP MTU; zero means 1500.
	MTU uint32
	// TCPBufferBytes is the default TCP send and receive buffer size; zero
	// means 256 KiB. Buffers may grow to four times this under load.
	TCPBufferBytes int
}

// Validate reports what is wrong with the configuration, if anything.
func (c *Config) Validate() error {
	if len(c.MAC) != 6 {
		return fmt.Errorf("netstack: MAC address %q is not a 6-byte Ethernet address", c.MAC)
	}
	if !c.Address.IsValid() || !c.Address.Addr().Is4() {
		return fmt.Errorf("netstack: address %q is not an IPv4 prefix", c.Address)
	}
	if c.Gateway.IsValid() && !c.Gateway.Is4() {
		return fmt.Errorf("netstack: gateway %q is not IPv4", c.Gateway)
	}
	if c.MTU != 0 && (c.MTU < 576 || c.MTU > 9000) {
		return fmt.Errorf("netstack: MTU %d outside 576..9000", c.MTU)
	}
	return nil
}

// Stack is a gVisor stack with one Ethernet NIC.
type Stack struct {
	// S is the underlying gVisor stack.
	S *stack.Stack
	// Link is the NIC's link endpoint: drivers call Link.Deliver on receive.
	Link *Endpoint
	// Config is the configuration the stack was built from.
	Config Config
}

// New builds a stack from cfg whose NIC transmits through dev.
func New(cfg Config, dev Device) (*Stack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if dev == nil {
		return nil, errors.New("netstack: nil device")
	}
	if cfg.MTU == 0 {
		cfg.MTU = 1500
	}
	if cfg.TCPBufferBytes == 0 {
		cfg.TCPBufferBytes = 256 << 10
	}

	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
		// Answer pings to the interface address.
		HandleLocal: true,
	})

	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4 << 10, Default: cfg.TCPBufferBytes, Max: 4 * cfg.TCPBufferBytes}
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &rcv)
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: 4 << 10, Default: cfg.TCPBufferBytes, Max: 4 * cfg.TCPBufferBytes}
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &snd)
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &moderate)

	link := NewEndpoint(dev, tcpip.LinkAddress(cfg.MAC), cfg.MTU)
	if err := s.CreateNIC(NICID, link); err != nil {
		return nil, fmt.Errorf("netstack: create NIC: %v", err)
	}
	addr := tcpip.ProtocolAddress{
		Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{
			Address:   tcpip.AddrFrom4(cfg.Address.Addr().As4()),
			PrefixLen: cfg.Address.Bits(),
		},
	}
	if err := s.AddProtocolAddress(NICID, addr, stack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("netstack: add address: %v", err)
	}
	if err := s.CreateNIC(LoopbackNICID, loopback.New()); err != nil {
		return nil, fmt.Errorf("netstack: create loopback: %v", err)
	}
	lo := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), PrefixLen: 8},
	}
	if err := s.AddProtocolAddress(LoopbackNICID, lo, stack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("netstack: loopback address: %v", err)
	}
	routes := []tcpip.Route{
		{Destination: lo.AddressWithPrefix.Subnet(), NIC: LoopbackNICID},
		{Destination: addr.AddressWithPrefix.Subnet(), NIC: NICID},
	}
	if cfg.Gateway.IsValid() {
		routes = append(routes, tcpip.Route{
			Destination: header.IPv4EmptySubnet,
			Gateway:     tcpip.AddrFrom4(cfg.Gateway.As4()),
			NIC:         NICID,
		})
	}
	s.SetRouteTable(routes)

	return &Stack{S: s, Link: link, Config: cfg}, nil
}

// Deliver hands a received Ethernet frame to the stack (see Endpoint.Deliver).
func (s *Stack) Deliver(frame []byte) { s.Link.Deliver(frame) }

// Close tears the stack down and waits for its workers.
func (s *Stack) Close() {
	s.S.Close()
	s.S.Wait()
}
