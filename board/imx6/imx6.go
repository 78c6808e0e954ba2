//go:build tamago && arm

// Package imx6 holds what raygate's i.MX6UL/ULL/ULZ boards share: interrupt
// a halt-until-alarm idle governor with interrupts masked (see InstallIdle
// for why), the
// watchdog, and time since reset. The board packages (mx6ullevk, usbarmory)
// import tamago's board support and pick the console and MAC.
//
// This package is only meant to be used with GOOS=tamago GOARCH=arm.
package imx6

import (
	"runtime/goos"
	"time"

	"github.com/usbarmory/tamago/arm"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
)

// InstallIdle sets the idle governor: the CPU halts until the next timer
// alarm, with CPU interrupts left masked. The GIC still wakes the halted
// CPU for the alarm; the governor acknowledges it.
//
// Why masked, and why the NIC is polled (kernel/poll.go) rather than
// interrupt driven: tamago's ARM IRQ path wakes the interrupt goroutine
// with runtime.WakeG, which, run in IRQ mode, scans the P's timer heap
// backwards for that goroutine's timer without a lower bound. An IRQ that
// lands while the runtime is moving timers in the heap (deleteMin,
// siftdown) makes the scan miss and walk off the start of RAM: a data abort
// at 0x7fffffec after 1,765 and 7,883 requests under load in QEMU
// (tamago-go1.26.0, and its master the same). With interrupts masked
// nothing runs in IRQ mode.
func InstallIdle() {
	imx6ul.GIC.Init(true, false)
	imx6ul.GIC.EnableInterrupt(arm.TIMER_IRQ, true)
	goos.Idle = func(pollUntil int64) {
		if pollUntil == 0 {
			return
		}
		imx6ul.ARM.SetAlarm(pollUntil)
		imx6ul.ARM.WaitInterrupt()
		imx6ul.ARM.SetAlarm(0)
		for i := 0; i < 4 && imx6ul.GIC.GetInterrupt(true) < 1020; i++ {
		}
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
