//go:build tamago && arm

// Package imx6 holds what raygate's i.MX6UL/ULL/ULZ boards share: interrupt
// polling with a halt-until-alarm idle governor (see PollNIC for why not
// interrupts), the
// watchdog, and time since reset. The board packages (mx6ullevk, usbarmory)
// import tamago's board support and pick the console and MAC.
//
// This package is only meant to be used with GOOS=tamago GOARCH=arm.
package imx6

import (
	"runtime"
	"runtime/goos"
	"time"

	"github.com/usbarmory/tamago/arm"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
)

// PollNIC calls service on the calling goroutine, forever: at once again
// while it finds frames, else after a pause that doubles from 50 µs up to
// 1 ms, which bounds the receive latency of an idle link. Between passes
// the CPU halts until the next timer alarm.
//
// Why polling and not the ENET interrupt: tamago's ARM IRQ path wakes the
// interrupt goroutine with runtime.WakeG, which, run in IRQ mode, scans
// the P's timer heap backwards for that goroutine's timer without a lower
// bound. An IRQ that lands while the runtime is moving timers in the heap
// (deleteMin, siftdown) makes the scan miss and walk off the start of RAM:
// a data abort at 0x7fffffec after 1,765 and 7,883 requests under load in
// QEMU (tamago-go1.26.0 and its master alike). With CPU interrupts left
// masked, nothing runs in IRQ mode; the GIC still wakes the halted CPU for
// the timer alarm.
func PollNIC(service func() int) {
	imx6ul.GIC.Init(true, false)
	imx6ul.GIC.EnableInterrupt(arm.TIMER_IRQ, true)

	goos.Idle = func(pollUntil int64) {
		if pollUntil == 0 {
			return
		}
		imx6ul.ARM.SetAlarm(pollUntil)
		imx6ul.ARM.WaitInterrupt()
		// what woke the CPU is acknowledged here: IRQs stay masked
		imx6ul.ARM.SetAlarm(0)
		for i := 0; i < 4 && imx6ul.GIC.GetInterrupt(true) < 1020; i++ {
		}
	}

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

// WatchdogTimeout is how long the board may go without servicing WDOG1
// before it resets.
const WatchdogTimeout = 16 * time.Second

// StartWatchdog arms WDOG1 and services it from a goroutine every quarter of
// the timeout, so a wedged runtime resets the board.
func StartWatchdog() {
	ms := int(WatchdogTimeout / time.Millisecond)
	imx6ul.WDOG1.EnableTimeout(ms)
	go func() {
		for {
			time.Sleep(WatchdogTimeout / 4)
			imx6ul.WDOG1.Service(ms)
		}
	}()
}

// SinceReset returns the time since the system counter started.
func SinceReset() time.Duration {
	return time.Duration(float64(imx6ul.ARM.Counter()) * imx6ul.ARM.TimerMultiplier)
}

// Reset reboots the SoC.
func Reset() { imx6ul.Reset() }

// Model names the SoC and whether it is emulated.
func Model() string {
	m := imx6ul.Model()
	if !imx6ul.Native {
		m += " (emulated)"
	}
	return m
}
