//go:build microvm

package main

import (
	"fmt"
	"io"
	"time"

	board "github.com/raygate/raygate/board/microvm"
	"github.com/raygate/raygate/net/netstack"
	"github.com/raygate/raygate/net/virtionet"
)

const targetName = "microvm"

func targetConsole() io.ReadWriter { return board.UART0 }

func targetRAM() uint64 { return board.RAMSize }

func targetSinceReset() time.Duration { return board.SinceReset() }

func targetReset() { board.Reset() }

func targetClock() string {
	return fmt.Sprintf("clock %s, tsc %d MHz, idle %s", board.Clock.Source, board.Clock.TSCHz/1e6, board.Idle)
}

func targetWatchdog() {}

// targetNIC finds the virtio-net transport, brings it up and returns it with
// the function that starts receive into the stack.
func targetNIC() (nic, error) {
	for slot := 0; slot < board.VIRTIO_MMIO_SLOTS; slot++ {
		base := uint32(board.VIRTIO_MMIO_BASE + slot*board.VIRTIO_MMIO_SIZE)
		if !virtionet.Probe(base) {
			continue
		}
		dev := &virtionet.Net{Base: base, IRQ: board.VIRTIO_MMIO_GSI + slot}
		if err := dev.Init(); err != nil {
			return nil, err
		}
		return &virtioNIC{dev}, nil
	}
	return nil, fmt.Errorf("no virtio-net device on the %d virtio-mmio slots", board.VIRTIO_MMIO_SLOTS)
}

type virtioNIC struct{ *virtionet.Net }

func (n *virtioNIC) Name() string { return fmt.Sprintf("virtio-net@%#x irq %d", n.Base, n.IRQ) }

func (n *virtioNIC) Start(st *netstack.Stack) {
	n.Net.Start(st.Deliver)
	go board.ServiceInterrupts(n.IRQ, n.Service)
	// a wake-up tamago loses costs at most one safety-net period
	go pollNIC(n.Poll, 10*time.Millisecond)
}

func (n *virtioNIC) WriteStats(w io.Writer) {
	s := &n.Stats
	fmt.Fprintf(w, "driver     %s: %d interrupts  %d rescued by polling  %d rx  %d rx errors  %d tx  %d tx ring full  %d doorbells\n",
		n.Name(), s.Interrupts.Load(), s.Polls.Load(), s.RxFrames.Load(), s.RxErrors.Load(), s.TxFrames.Load(), s.TxFull.Load(), s.Doorbells.Load())
}
