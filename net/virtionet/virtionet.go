//go:build tamago

// Package virtionet is raygate's driver for VirtIO network devices over the
// MMIO transport, following:
//   - Virtual I/O Device (VIRTIO) Version 1.2, 4.2 Virtio Over MMIO
//   - Virtual I/O Device (VIRTIO) Version 1.2, 5.1 Network Device
//
// Feature negotiation, reset and the device configuration space go through
// tamago's kvm/virtio MMIO transport; the split virtqueues are the driver's
// own (ring.go, queue.go) so that transmit reuses a fixed DMA buffer per
// descriptor, batches doorbells (one notification per netstack batch) and
// never asks for transmit interrupts. Receive is polled (Poll, from the
// kernel's polling goroutine: see kernel/poll.go for why not the
// interrupt), and the ring code refuses whatever a device returns that it
// did not offer (ring_test.go plays a hostile device).
//
// This package is only meant to be used with GOOS=tamago.
package virtionet

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/usbarmory/tamago/kvm/virtio"

	"github.com/raygate/raygate/net/netstack"
)

// Device parameters, 5.1.1 Device ID and 5.1.3 Feature bits.
const (
	DeviceID = 1

	VIRTIO_NET_F_MAC    = 1 << 5
	VIRTIO_NET_F_STATUS = 1 << 16
	VIRTIO_F_VERSION_1  = 1 << 32

	// 5.1.4 Device configuration layout: status field
	VIRTIO_NET_S_LINK_UP = 1

	// 2.1 Device Status Field
	statusAcknowledge = 1
	statusDriver      = 2
	statusDriverOK    = 4
	statusFeaturesOK  = 8
	statusFailed      = 128

	receiveq1  = 0
	transmitq1 = 1
)

// virtio-mmio registers not exposed by tamago's transport (4.2.2 MMIO Device
// Register Layout).
const (
	regStatus          = 0x070
	regQueueSel        = 0x030
	regQueueNum        = 0x038
	regQueueReady      = 0x044
	regInterruptStatus = 0x060
	regInterruptACK    = 0x064
	regQueueDescLow    = 0x080
	regQueueDescHigh   = 0x084
	regQueueDriverLow  = 0x090
	regQueueDriverHigh = 0x094
	regQueueDeviceLow  = 0x0a0
	regQueueDeviceHigh = 0x0a4
)

const maxQueueSize = 256

// Stats counts driver events; read them with atomic loads.
type Stats struct {
	Interrupts   atomic.Uint64
	Polls        atomic.Uint64 // polls that found frames (missed wake-ups)
	RxFrames     atomic.Uint64
	RxErrors     atomic.Uint64 // used elements shorter than a header or out of range
	TxFrames     atomic.Uint64
	TxFull       atomic.Uint64 // transmit attempts with no free descriptor
	TxOversize   atomic.Uint64
	TxErrors     atomic.Uint64 // used elements naming a descriptor not in flight
	Doorbells    atomic.Uint64 // queue notifications written
	ConfigEvents atomic.Uint64
}

// Net is a VirtIO network device. Fill Base and IRQ, then call Init.
type Net struct {
	// Base is the MMIO base address of the device's transport.
	Base uint32
	// IRQ is the interrupt line (GSI) of the transport.
	IRQ int
	// QueueSize is the number of descriptors per queue; zero means the
	// device maximum, capped at 256.
	QueueSize int

	// Stats counts driver events.
	Stats Stats

	transport *virtio.MMIO
	features  uint64
	mac       net.HardwareAddr
	hdrLen    int
	rx, tx    *queue
	rxMu      sync.Mutex // Service and Poll both drain rx
	deliver   func([]byte)
}

var _ netstack.Device = (*Net)(nil)

// Probe reports whether a VirtIO network device answers at base.
func Probe(base uint32) bool {
	if read32(base) != virtio.MAGIC || read32(base+0x004) != virtio.VERSION {
		return false
	}
	return read32(base+0x008) == DeviceID
}

// Init resets the device, negotiates features and sets up both queues. The
// device is not live until Start.
func (hw *Net) Init() error {
	if hw.Base == 0 {
		return errors.New("virtionet: no MMIO base")
	}
	hw.transport = &virtio.MMIO{Base: hw.Base}
	features, err := hw.negotiate(VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_F_VERSION_1)
	if err != nil {
		return err
	}
	if id := hw.transport.DeviceID(); id != DeviceID {
		return fmt.Errorf("virtionet: device ID %d is not a network device", id)
	}
	if features&VIRTIO_NET_F_MAC == 0 {
		return errors.New("virtionet: device offers no MAC address")
	}
	// 5.1.6: the header carries num_buffers once VERSION_1 is negotiated.
	hw.hdrLen = 10
	if features&VIRTIO_F_VERSION_1 != 0 {
		hw.hdrLen = 12
	}
	cfg := hw.transport.Config(8)
	hw.mac = net.HardwareAddr(append([]byte(nil), cfg[0:6]...))

	size := hw.QueueSize
	if size <= 0 || size > maxQueueSize {
		size = maxQueueSize
	}
	for _, idx := range []int{receiveq1, transmitq1} {
		if m := hw.transport.MaxQueueSize(idx); m == 0 {
			return fmt.Errorf("virtionet: queue %d unavailable", idx)
		} else if m < size {
			size = m
		}
	}
	hw.rx = newQueue(uint16(size), bufferSize, VIRTQ_DESC_F_WRITE)
	hw.tx = newQueue(uint16(size), bufferSize, 0)
	// Receive: every descriptor is device-writable and offered at once.
	for i := 0; i < size; i++ {
		hw.rx.offer(uint16(i))
	}
	hw.rx.publish(0)
	// Transmit: every descriptor starts free; no used-buffer interrupts.
	for i := size - 1; i >= 0; i-- {
		hw.tx.free = append(hw.tx.free, uint16(i))
	}
	hw.tx.publish(VIRTQ_AVAIL_F_NO_INTERRUPT)

	hw.setQueue(receiveq1, hw.rx)
	hw.setQueue(transmitq1, hw.tx)
	return nil
}

// negotiate runs 3.1.1 Driver Requirements: Device Initialization up to
// FEATURES_OK. It is done here rather than by tamago's MMIO.Init because
// tamago v1.26.0 masks every device-type feature bit (MAC, STATUS) out of
// the negotiated set.
func (hw *Net) negotiate(want uint64) (uint64, error) {
	if !Probe(hw.Base) {
		return 0, fmt.Errorf("virtionet: no VirtIO network device at %#x", hw.Base)
	}
	write32(hw.Base+regStatus, 0) // reset
	write32(hw.Base+regStatus, statusAcknowledge)
	write32(hw.Base+regStatus, statusAcknowledge|statusDriver)
	features := hw.transport.DeviceFeatures() & want
	hw.transport.SetDriverFeatures(features)
	write32(hw.Base+regStatus, statusAcknowledge|statusDriver|statusFeaturesOK)
	if read32(hw.Base+regStatus)&statusFeaturesOK == 0 {
		write32(hw.Base+regStatus, statusFailed)
		return 0, errors.New("virtionet: device refused features")
	}
	hw.features = features
	return features, nil
}

func (hw *Net) setQueue(index int, q *queue) {
	write32(hw.Base+regQueueSel, uint32(index))
	write32(hw.Base+regQueueNum, uint32(q.size))
	write32(hw.Base+regQueueDescLow, uint32(q.descAddr))
	write32(hw.Base+regQueueDescHigh, uint32(uint64(q.descAddr)>>32))
	write32(hw.Base+regQueueDriverLow, uint32(q.availAddr))
	write32(hw.Base+regQueueDriverHigh, uint32(uint64(q.availAddr)>>32))
	write32(hw.Base+regQueueDeviceLow, uint32(q.usedAddr))
	write32(hw.Base+regQueueDeviceHigh, uint32(uint64(q.usedAddr)>>32))
	write32(hw.Base+regQueueReady, 1)
}

// MAC returns the device's hardware address.
func (hw *Net) MAC() net.HardwareAddr { return hw.mac }

// LinkUp implements netstack.LinkState from the configuration status field.
func (hw *Net) LinkUp() bool {
	if hw.features&VIRTIO_NET_F_STATUS == 0 {
		return true
	}
	cfg := hw.transport.Config(8)
	return (uint16(cfg[6])|uint16(cfg[7])<<8)&VIRTIO_NET_S_LINK_UP != 0
}

// Start sets DRIVER_OK and hands every received frame to deliver, which must
// copy it before returning (netstack.Stack.Deliver does).
func (hw *Net) Start(deliver func([]byte)) {
	hw.deliver = deliver
	write32(hw.Base+regStatus, statusAcknowledge|statusDriver|statusFeaturesOK|statusDriverOK)
	hw.notify(receiveq1)
}

func (hw *Net) notify(index int) {
	hw.Stats.Doorbells.Add(1)
	hw.transport.QueueNotify(index)
}

// Service acknowledges the device's interrupt and drains the receive
// queue; the board calls it from its interrupt goroutine.
func (hw *Net) Service() {
	hw.Stats.Interrupts.Add(1)
	hw.rxMu.Lock()
	defer hw.rxMu.Unlock()
	hw.ack()
	hw.drainRx()
}

// Poll drains the receive queue and returns the frames delivered: the
// kernel's safety net for an interrupt whose wake-up was lost (see
// kernel/poll.go). It may run alongside Service: the queue is locked.
func (hw *Net) Poll() int {
	hw.rxMu.Lock()
	defer hw.rxMu.Unlock()
	hw.ack()
	n := hw.drainRx()
	if n > 0 {
		hw.Stats.Polls.Add(1)
	}
	return n
}

func (hw *Net) ack() {
	if status := read32(hw.Base + regInterruptStatus); status != 0 {
		write32(hw.Base+regInterruptACK, status)
		if status&2 != 0 {
			hw.Stats.ConfigEvents.Add(1)
		}
	}
}

func (hw *Net) drainRx() (delivered int) {
	q := hw.rx
	for {
		frames, refused := q.drain(hw.hdrLen, hw.deliver)
		delivered += frames
		hw.Stats.RxFrames.Add(uint64(frames))
		hw.Stats.RxErrors.Add(uint64(refused))
		if frames+refused == 0 {
			return delivered
		}
		if q.deviceWantsNotify() {
			hw.notify(receiveq1)
		}
	}
}

// Transmit implements netstack.Device.Transmit: the frame is copied into a
// free descriptor's DMA buffer behind a zeroed virtio_net_hdr (no checksum
// offload, no segmentation offload) and offered, unpublished, to the device.
func (hw *Net) Transmit(parts [][]byte) error {
	q := hw.tx
	hw.Stats.TxErrors.Add(uint64(q.reclaim()))
	if len(q.free) == 0 {
		hw.Stats.TxFull.Add(1)
		return netstack.ErrQueueFull
	}
	id := q.free[len(q.free)-1]
	buf := q.bufs[id]
	clear(buf[:hw.hdrLen])
	n := hw.hdrLen
	for _, p := range parts {
		if n+len(p) > len(buf) {
			hw.Stats.TxOversize.Add(1)
			return fmt.Errorf("virtionet: frame of more than %d bytes", len(buf)-hw.hdrLen)
		}
		n += copy(buf[n:], p)
	}
	q.free = q.free[:len(q.free)-1]
	q.setDescLen(id, uint32(n))
	q.offer(id)
	hw.Stats.TxFrames.Add(1)
	return nil
}

// Flush implements netstack.Device.Flush: one publish and at most one doorbell
// for every frame offered since the last call.
func (hw *Net) Flush() {
	hw.tx.publish(VIRTQ_AVAIL_F_NO_INTERRUPT)
	if hw.tx.deviceWantsNotify() {
		hw.notify(transmitq1)
	}
}

func read32(addr uint32) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(uintptr(addr))))
}

func write32(addr uint32, v uint32) {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(uintptr(addr))), v)
}
