//go:build tamago && arm

// Package imx6 holds what raygate's i.MX6UL/ULL/ULZ boards share: interrupt
// servicing through the GIC with a halt-until-alarm idle governor, the
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

// ServiceInterrupts enables the ENET interrupt (irq) and the CPU timer in
// the GIC, installs an idle governor that halts until the next timer alarm,
// and calls onIRQ for every ENET interrupt, on the calling goroutine, forever.
func ServiceInterrupts(irq int, onIRQ func()) {
	imx6ul.GIC.Init(true, false)
	imx6ul.GIC.EnableInterrupt(arm.TIMER_IRQ, true)
	imx6ul.GIC.EnableInterrupt(irq, true)

	goos.Idle = func(pollUntil int64) {
		if pollUntil == 0 {
			return
		}
		imx6ul.ARM.SetAlarm(pollUntil)
		imx6ul.ARM.WaitInterrupt()
	}

	arm.ServiceInterrupts(func() {
		switch id := imx6ul.GIC.GetInterrupt(true); id {
		case arm.TIMER_IRQ:
			imx6ul.ARM.SetAlarm(0)
		case irq:
			onIRQ()
		}
	})
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
