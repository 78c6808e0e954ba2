package netstack

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// Socket has the signature of tamago-go's net.SocketFunc: assigning it there
// makes net.Listen, net.Dial and net/http use this stack. It returns a
// net.Listener for a listening TCP socket, a net.Conn for a dialled one and a
// net.PacketConn (or connected net.Conn) for UDP.
//
// The runtime may ask for AF_INET6 when the caller wrote a wildcard address
// (":80"); the stack is IPv4-only, so wildcard and IPv4-mapped addresses are
// served over IPv4 and genuine IPv6 addresses are refused.
func (s *Stack) Socket(ctx context.Context, network string, family, sotype int, laddr, raddr net.Addr) (any, error) {
	if family != syscall.AF_INET && family != syscall.AF_INET6 {
		return nil, fmt.Errorf("netstack: address family %d not supported", family)
	}
	local, err := fullAddress(laddr)
	if err != nil {
		return nil, err
	}
	remote, err := fullAddress(raddr)
	if err != nil {
		return nil, err
	}

	switch network {
	case "tcp", "tcp4", "tcp6":
		if sotype != syscall.SOCK_STREAM {
			return nil, fmt.Errorf("netstack: socket type %d not supported for %s", sotype, network)
		}
		if raddr == nil {
			return gonet.ListenTCP(s.S, local, ipv4.ProtocolNumber)
		}
		return gonet.DialTCPWithBind(ctx, s.S, local, remote, ipv4.ProtocolNumber)
	case "udp", "udp4", "udp6":
		if sotype != syscall.SOCK_DGRAM {
			return nil, fmt.Errorf("netstack: socket type %d not supported for %s", sotype, network)
		}
		if raddr == nil {
			return gonet.DialUDP(s.S, &local, nil, ipv4.ProtocolNumber)
		}
		return gonet.DialUDP(s.S, &local, &remote, ipv4.ProtocolNumber)
	}
	return nil, fmt.Errorf("netstack: network %q not supported", network)
}

// Listen opens a TCP listener on this stack; address is "host:port", where an
// empty host means every address of the interface.
func (s *Stack) Listen(address string) (net.Listener, error) {
	fa, err := parseFullAddress(address)
	if err != nil {
		return nil, err
	}
	return gonet.ListenTCP(s.S, fa, ipv4.ProtocolNumber)
}

// DialContext dials a TCP address over this stack. It has the signature of
// net.Dialer.DialContext, so it can stand in for an http.Transport's dialer.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if network != "tcp" && network != "tcp4" {
		return nil, fmt.Errorf("netstack: network %q not supported", network)
	}
	fa, err := parseFullAddress(address)
	if err != nil {
		return nil, err
	}
	return gonet.DialContextTCP(ctx, s.S, fa, ipv4.ProtocolNumber)
}

func fullAddress(a net.Addr) (tcpip.FullAddress, error) {
	switch a := a.(type) {
	case nil:
		return tcpip.FullAddress{}, nil
	case *net.TCPAddr:
		if a == nil {
			return tcpip.FullAddress{}, nil
		}
		return toFull(a.IP, a.Port)
	case *net.UDPAddr:
		if a == nil {
			return tcpip.FullAddress{}, nil
		}
		return toFull(a.IP, a.Port)
	}
	return parseFullAddress(a.String())
}

func toFull(ip net.IP, port int) (tcpip.FullAddress, error) {
	if port < 0 || port > 65535 {
		return tcpip.FullAddress{}, fmt.Errorf("netstack: port %d out of range", port)
	}
	fa := tcpip.FullAddress{Port: uint16(port)}
	if len(ip) == 0 || ip.IsUnspecified() {
		return fa, nil
	}
	v4 := ip.To4()
	if v4 == nil {
		return tcpip.FullAddress{}, fmt.Errorf("netstack: IPv6 address %s not supported", ip)
	}
	fa.Addr = tcpip.AddrFrom4([4]byte(v4))
	return fa, nil
}

func parseFullAddress(address string) (tcpip.FullAddress, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return tcpip.FullAddress{}, fmt.Errorf("netstack: address %q: %v", address, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return tcpip.FullAddress{}, fmt.Errorf("netstack: port in %q: %v", address, err)
	}
	if host == "" {
		return tcpip.FullAddress{Port: uint16(p)}, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return tcpip.FullAddress{}, fmt.Errorf("netstack: host in %q is not an IP address", address)
	}
	return toFull(net.IP(ip.AsSlice()), int(p))
}
