//go:build tamago

package main

import (
	"runtime"
	"time"
)

// pollNIC calls service (which drains the NIC's receive ring and returns
// the frames it delivered) on the calling goroutine, forever: at once
// again while it finds frames, else after a pause that doubles from 50 µs
// up to maxPause. The boards halt the CPU between passes until the next
// timer alarm.
//
// Why poll: tamago's interrupt path wakes the servicing goroutine with
// runtime.WakeG from interrupt context, which scans the timer heap while
// the runtime may be rewriting it. On ARM the scan has no lower bound and
// walked off the start of RAM under load (board/imx6.InstallIdle), so the
// i.MX ENET is polled only (maxPause 1 ms bounds an idle link's latency).
// On amd64 the scan gives up instead, losing the wake-up, so microvm keeps
// the device interrupt and polls as a safety net (maxPause 10 ms): a lost
// wake-up costs one period rather than a stall until the next interrupt.
func pollNIC(service func() int, maxPause time.Duration) {
	const minPause = 50 * time.Microsecond
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
