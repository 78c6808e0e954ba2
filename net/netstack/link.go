package netstack

import (
	"errors"
	"sync"
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// ErrQueueFull is returned by a Device whose transmit ring has no free slot.
// The endpoint stops the current batch and reports the shortfall to gVisor,
// which retries or drops as TCP or UDP semantics require.
var ErrQueueFull = errors.New("netstack: transmit queue full")

// Device is the transmit side of a NIC as the stack sees it. Drivers (virtio-net,
// i.MX ENET) and the in-process link in net/memlink implement it; the receive
// side is the driver calling Endpoint.Deliver for each frame it takes off the wire.
type Device interface {
	// Transmit queues one Ethernet frame, given as the concatenation of
	// parts (header and payload views of one packet). The device copies the
	// bytes before it returns: the caller reuses the memory at once.
	// A full ring returns ErrQueueFull.
	Transmit(parts [][]byte) error
	// Flush makes the frames queued since the last Flush visible to the
	// hardware: one doorbell for a whole batch, not one per frame.
	Flush()
}

// LinkStats counts frames and drops at the link layer. Bad frames are counted,
// not returned as errors: a NIC must keep going whatever arrives on the wire.
type LinkStats struct {
	RxFrames  atomic.Uint64 // frames handed to the stack
	RxBytes   atomic.Uint64
	RxDropped atomic.Uint64 // runt or unparseable frames, frames for another MAC, frames before the stack attached
	TxFrames  atomic.Uint64
	TxBytes   atomic.Uint64
	TxErrors  atomic.Uint64 // frames the device refused (ring full, too big)
}

// Endpoint is a gVisor link endpoint speaking Ethernet over a Device. It adds
// and parses the 14-byte Ethernet header itself, so drivers move whole frames.
//
// LOCK ORDERING: mu is never held while calling into the device or the
// dispatcher: both are copied under the read lock and used outside it.
type Endpoint struct {
	dev Device

	mu         sync.RWMutex
	mtu        uint32                  // +checklocks:mu
	mac        tcpip.LinkAddress       // +checklocks:mu
	dispatcher stack.NetworkDispatcher // +checklocks:mu
	onClose    func()                  // +checklocks:mu

	// txMu serialises batches so one WritePackets call maps to one Flush.
	txMu sync.Mutex

	Stats LinkStats
}

var _ stack.LinkEndpoint = (*Endpoint)(nil)

// NewEndpoint returns an Ethernet endpoint for dev with the given MAC and
// IP MTU (1500 for standard Ethernet).
func NewEndpoint(dev Device, mac tcpip.LinkAddress, mtu uint32) *Endpoint {
	return &Endpoint{dev: dev, mac: mac, mtu: mtu}
}

// MTU implements stack.LinkEndpoint.MTU.
func (e *Endpoint) MTU() uint32 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.mtu
}

// SetMTU implements stack.LinkEndpoint.SetMTU.
func (e *Endpoint) SetMTU(mtu uint32) {
	e.mu.Lock()
	e.mtu = mtu
	e.mu.Unlock()
}

// MaxHeaderLength implements stack.LinkEndpoint.MaxHeaderLength.
func (*Endpoint) MaxHeaderLength() uint16 { return header.EthernetMinimumSize }

// LinkAddress implements stack.LinkEndpoint.LinkAddress.
func (e *Endpoint) LinkAddress() tcpip.LinkAddress {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.mac
}

// SetLinkAddress implements stack.LinkEndpoint.SetLinkAddress.
func (e *Endpoint) SetLinkAddress(addr tcpip.LinkAddress) {
	e.mu.Lock()
	e.mac = addr
	e.mu.Unlock()
}

// Capabilities implements stack.LinkEndpoint.Capabilities: Ethernet needs ARP.
func (*Endpoint) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityResolutionRequired
}

// Attach implements stack.LinkEndpoint.Attach.
func (e *Endpoint) Attach(d stack.NetworkDispatcher) {
	e.mu.Lock()
	e.dispatcher = d
	e.mu.Unlock()
}

// IsAttached implements stack.LinkEndpoint.IsAttached.
func (e *Endpoint) IsAttached() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.dispatcher != nil
}

// Wait implements stack.LinkEndpoint.Wait. No goroutines belong to the
// endpoint: receive runs on the driver's interrupt goroutine.
func (*Endpoint) Wait() {}

// ARPHardwareType implements stack.LinkEndpoint.ARPHardwareType.
func (*Endpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

// AddHeader implements stack.LinkEndpoint.AddHeader.
func (*Endpoint) AddHeader(pkt *stack.PacketBuffer) {
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{
		SrcAddr: pkt.EgressRoute.LocalLinkAddress,
		DstAddr: pkt.EgressRoute.RemoteLinkAddress,
		Type:    pkt.NetworkProtocolNumber,
	})
}

// ParseHeader implements stack.LinkEndpoint.ParseHeader.
func (*Endpoint) ParseHeader(pkt *stack.PacketBuffer) bool {
	_, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	return ok
}

// Close implements stack.LinkEndpoint.Close.
func (e *Endpoint) Close() {
	e.mu.Lock()
	fn := e.onClose
	e.dispatcher = nil
	e.mu.Unlock()
	if fn != nil {
		fn()
	}
}

// SetOnCloseAction implements stack.LinkEndpoint.SetOnCloseAction.
func (e *Endpoint) SetOnCloseAction(fn func()) {
	e.mu.Lock()
	e.onClose = fn
	e.mu.Unlock()
}

// WritePackets implements stack.LinkWriter.WritePackets. Every frame of the
// batch is queued, then the device is flushed once.
func (e *Endpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	e.txMu.Lock()
	defer e.txMu.Unlock()

	n := 0
	var err tcpip.Error
	for _, pkt := range pkts.AsSlice() {
		parts := pkt.AsSlices()
		size := 0
		for _, p := range parts {
			size += len(p)
		}
		if derr := e.dev.Transmit(parts); derr != nil {
			e.Stats.TxErrors.Add(1)
			err = &tcpip.ErrNoBufferSpace{}
			break
		}
		e.Stats.TxFrames.Add(1)
		e.Stats.TxBytes.Add(uint64(size))
		n++
	}
	if n > 0 {
		e.dev.Flush()
	}
	if n == 0 && err != nil {
		return 0, err
	}
	return n, nil
}

// Deliver hands one received Ethernet frame (without FCS) to the stack. The
// frame is copied: the driver may reuse its buffer as soon as Deliver returns.
// It is safe to call from the driver's interrupt goroutine.
func (e *Endpoint) Deliver(frame []byte) {
	e.mu.RLock()
	d := e.dispatcher
	mac := e.mac
	e.mu.RUnlock()

	if d == nil || len(frame) < header.EthernetMinimumSize {
		e.Stats.RxDropped.Add(1)
		return
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{
		Payload: buffer.MakeWithData(frame),
	})
	defer pkt.DecRef()

	if !e.ParseHeader(pkt) {
		e.Stats.RxDropped.Add(1)
		return
	}
	eth := header.Ethernet(pkt.LinkHeader().Slice())
	dst := eth.DestinationAddress()
	switch {
	case dst == header.EthernetBroadcastAddress:
		pkt.PktType = tcpip.PacketBroadcast
	case header.IsMulticastEthernetAddress(dst):
		pkt.PktType = tcpip.PacketMulticast
	case dst == mac:
		pkt.PktType = tcpip.PacketHost
	default:
		// Not for us (a switch flooding, or promiscuous hardware).
		e.Stats.RxDropped.Add(1)
		return
	}
	e.Stats.RxFrames.Add(1)
	e.Stats.RxBytes.Add(uint64(len(frame)))
	d.DeliverNetworkPacket(eth.Type(), pkt)
}
