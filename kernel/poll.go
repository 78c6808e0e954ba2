//go:build tamago

package main

import (
	"runtime"
	"time"
)

// pollNIC calls service (which drains the NIC's receive ring and returns
// the frames it delivered) on the calling goroutine, forever: at once
// again while it finds frames, else after a pause that doubles from 50 µs
// up to 1 ms, which bounds the receive latency of an idle link. The
// boards halt the CPU between passes until the next timer alarm.
//
// The NICs are polled rather than interrupt driven because tamago's
// interrupt path wakes the servicing goroutine with runtime.WakeG from
// interrupt context, which scans the timer heap while the runtime may be
// rewriting it: on ARM the scan walked off the start of RAM under load (see
// board/imx6.InstallIdle), and on amd64 a missed wake-up stalls receive
// until the next interrupt (the 10 s stalls once seen under soak). Polling
// leaves the runtime's timers to the runtime.
func pollNIC(service func() int) {
	const minPause, maxPause = 50 * time.Microsecond, time.Millisecond
	pause := minPause
	for {
		if service() > 0 {
			pause = minPause
			runtime.Gosched()
			continue
		}
		time.Sleep(pause)
		pause = min(2*pause, maxPause)
	}
}
