package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/raygate/raygate/net/netstack"
	"github.com/raygate/raygate/net/tapdev"
)

// tapNet serves the hosted gateway through gVisor's netstack on a TAP
// interface, as the image serves through its NIC: listen and dial go
// through the netstack, whose wire is the TAP device.
type tapNet struct {
	st  *netstack.Stack
	tap *tapdev.Tap
}

func openTap(name, address string) (*tapNet, error) {
	prefix, err := netip.ParsePrefix(address)
	if err != nil {
		return nil, fmt.Errorf("-tap-address %q: %v", address, err)
	}
	mac := net.HardwareAddr{0x02, 0x72, 0x67, 0x00, 0x00, 0x01} // locally administered
	tap, err := tapdev.Open(name, mac)
	if err != nil {
		return nil, err
	}
	st, err := netstack.New(netstack.Config{MAC: mac, Address: prefix}, tap)
	if err != nil {
		tap.Close()
		return nil, err
	}
	tap.Start(st.Link.Deliver)
	return &tapNet{st: st, tap: tap}, nil
}

func (t *tapNet) listen(_, address string) (net.Listener, error) { return t.st.Listen(address) }

func (t *tapNet) dial(ctx context.Context, network, address string) (net.Conn, error) {
	return t.st.DialContext(ctx, network, address)
}
