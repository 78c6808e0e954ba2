// Package memlink is an in-process Ethernet wire between two netstack
// devices, so the netstack path (and the gateway over it) is tested by plain
// `go test` on Linux, without QEMU or root.
//
// Each direction is a bounded queue drained by its own goroutine: delivering
// inline from one stack's transmit into the other's receive could re-enter the
// first stack under its own locks. A full queue drops the frame and counts it,
// as a real NIC would.
package memlink

import (
	"sync"
	"sync/atomic"
)

// Receiver takes a frame off the wire (netstack.Stack.Deliver has this shape).
type Receiver func(frame []byte)

// Port is one end of the wire; it implements netstack.Device.
type Port struct {
	out  chan []byte
	peer *Port

	mu   sync.RWMutex
	recv Receiver

	// Dropped counts frames lost because the peer's queue was full.
	Dropped atomic.Uint64
	done    chan struct{}
}

// Pair returns two connected ports whose queues hold up to depth frames.
func Pair(depth int) (a, b *Port) {
	done := make(chan struct{})
	a = &Port{out: make(chan []byte, depth), done: done}
	b = &Port{out: make(chan []byte, depth), done: done}
	a.peer, b.peer = b, a
	go a.pump()
	go b.pump()
	return a, b
}

// SetReceiver sets where frames arriving at this port go.
func (p *Port) SetReceiver(r Receiver) {
	p.mu.Lock()
	p.recv = r
	p.mu.Unlock()
}

// Transmit implements netstack.Device.Transmit.
func (p *Port) Transmit(parts [][]byte) error {
	n := 0
	for _, b := range parts {
		n += len(b)
	}
	frame := make([]byte, 0, n)
	for _, b := range parts {
		frame = append(frame, b...)
	}
	select {
	case p.out <- frame:
	default:
		p.Dropped.Add(1)
	}
	return nil
}

// Flush implements netstack.Device.Flush; the wire has no doorbell.
func (p *Port) Flush() {}

// Close stops both directions of the wire.
func (p *Port) Close() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
}

func (p *Port) pump() {
	for {
		select {
		case <-p.done:
			return
		case f := <-p.out:
			p.peer.mu.RLock()
			r := p.peer.recv
			p.peer.mu.RUnlock()
			if r != nil {
				r(f)
			}
		}
	}
}
