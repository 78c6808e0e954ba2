//go:build mx6ullevk || usbarmory

package main

import (
	"fmt"
	"io"
	"time"

	"github.com/raygate/raygate/board/imx6"
	"github.com/raygate/raygate/net/imxenet"
	"github.com/raygate/raygate/net/netstack"
)

func targetSinceReset() time.Duration { return imx6.SinceReset() }

func targetReset() { imx6.Reset() }

func targetClock() string { return imx6.Model() + ", generic timer, idle halt" }

func targetWatchdog() { imx6.StartWatchdog() }

func targetNIC() (nic, error) {
	eth := boardENET()
	if eth == nil {
		return nil, fmt.Errorf("this board has no Ethernet MAC")
	}
	n := &enetNIC{NIC: &imxenet.NIC{ENET: eth}}
	if err := n.Init(nil); err != nil {
		return nil, err
	}
	return n, nil
}

type enetNIC struct{ *imxenet.NIC }

func (n *enetNIC) Name() string { return fmt.Sprintf("enet%d (polled)", n.ENET.Index) }

func (n *enetNIC) Start(st *netstack.Stack) {
	n.NIC.Start(st.Deliver)
	imx6.InstallIdle()
	go pollNIC(n.Service, time.Millisecond)
}

func (n *enetNIC) WriteStats(w io.Writer) {
	s, m := &n.Stats, &n.ENET.Stats
	fmt.Fprintf(w, "driver     %s: %d busy polls  %d rx  %d tx  %d crc/frame errors  %d overruns  %d too large\n",
		n.Name(), s.Polls.Load(), s.RxFrames.Load(), s.TxFrames.Load(), m.CRCOrFrameError, m.Overrun, m.FrameTooLarge)
}
