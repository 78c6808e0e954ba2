//go:build tamago && arm

// Package imxenet binds tamago's NXP ENET driver (soc/nxp/enet) to raygate's
// netstack: transmit copies each frame into the MAC's descriptor ring, and
// receive drains the ring from the board's polling goroutine.
//
// This package is only meant to be used with GOOS=tamago GOARCH=arm.
package imxenet

import (
	"fmt"
	"net"
	"sync/atomic"

	"github.com/usbarmory/tamago/soc/nxp/enet"

	"github.com/raygate/raygate/net/netstack"
)

// Stats counts glue events; the MAC's own error counters are in ENET.Stats.
type Stats struct {
	Polls      atomic.Uint64 // passes that found frames
	RxFrames   atomic.Uint64
	TxFrames   atomic.Uint64
	TxOversize atomic.Uint64
}

// NIC is an ENET MAC seen as a netstack.Device.
type NIC struct {
	// ENET is the MAC instance, set up by the board (pads, PHY, clocks).
	ENET *enet.ENET

	// Stats counts glue events.
	Stats Stats

	txBuf   []byte
	deliver func([]byte)
}

var _ netstack.Device = (*NIC)(nil)

// Init initialises the MAC with the given hardware address (nil means a
// random locally administered one, chosen by the driver).
func (n *NIC) Init(mac net.HardwareAddr) error {
	if n.ENET == nil {
		return fmt.Errorf("imxenet: no ENET controller on this board")
	}
	n.ENET.MAC = mac
	// Frames with MAC-layer errors are dropped by the MAC and counted.
	n.ENET.Init()
	n.txBuf = make([]byte, enet.MTU)
	return nil
}

// MAC returns the hardware address in use.
func (n *NIC) MAC() net.HardwareAddr { return n.ENET.MAC }

// LinkUp implements netstack.LinkState; the glue does not read the PHY.
func (n *NIC) LinkUp() bool { return true }

// Start enables the descriptor rings; the MAC's interrupts stay off (the
// board polls, see board/imx6.PollNIC).
func (n *NIC) Start(deliver func([]byte)) {
	n.deliver = deliver
	n.ENET.Start(false)
}

// Service drains received frames, at most one ring's worth, and returns
// how many it delivered.
func (n *NIC) Service() int {
	got := 0
	for got < n.ENET.RingSize {
		buf := n.ENET.Rx()
		if buf == nil {
			break
		}
		got++
		n.Stats.RxFrames.Add(1)
		if n.deliver != nil {
			n.deliver(buf)
		}
	}
	if got > 0 {
		n.Stats.Polls.Add(1)
	}
	return got
}

// Transmit implements netstack.Device.Transmit. The frame is assembled in
// one reusable buffer (callers are serialised by the link endpoint) and the
// driver copies it into its DMA ring.
func (n *NIC) Transmit(parts [][]byte) error {
	size := 0
	for _, p := range parts {
		size += len(p)
	}
	if size > len(n.txBuf) {
		n.Stats.TxOversize.Add(1)
		return fmt.Errorf("imxenet: frame of %d bytes exceeds %d", size, len(n.txBuf))
	}
	buf := n.txBuf[:0]
	for _, p := range parts {
		buf = append(buf, p...)
	}
	n.ENET.Tx(buf)
	n.Stats.TxFrames.Add(1)
	return nil
}

// Flush implements netstack.Device.Flush; the driver rings the MAC per frame.
func (n *NIC) Flush() {}
