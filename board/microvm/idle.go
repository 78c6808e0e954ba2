//go:build tamago && amd64

package microvm

import (
	"math"
	"runtime/goos"
	"sync/atomic"
	"unsafe"

	"github.com/usbarmory/tamago/amd64"
)

// Idle without spinning.
//
// tamago halts an idle CPU until a TSC-deadline alarm, which QEMU's software
// emulation does not offer. There the LAPIC timer, calibrated against the
// TSC, wakes the halted CPU instead. It runs in periodic mode so that an
// expiry landing just before the HLT costs one more period rather than a
// sleep until the next device interrupt.

// Local APIC timer registers (Intel SDM Vol. 3A, 11.5.4 APIC Timer).
const (
	LAPIC_LVT_TIMER     = amd64.LAPIC_BASE + 0x320
	LAPIC_TIMER_INITIAL = amd64.LAPIC_BASE + 0x380
	LAPIC_TIMER_CURRENT = amd64.LAPIC_BASE + 0x390
	LAPIC_TIMER_DIVIDE  = amd64.LAPIC_BASE + 0x3e0

	LVT_MASKED        = 1 << 16
	LVT_MODE_PERIODIC = 1 << 17
	DIVIDE_BY_1       = 0b1011
)

// maxIdlePeriod bounds one halt: a missed expiry costs at most this much.
const maxIdlePeriod = 10_000_000 // 10 ms

// lapicHz is the calibrated LAPIC timer rate; 0 when not in use.
var lapicHz uint64

func mmioRead(addr uint32) uint32 { return atomic.LoadUint32((*uint32)(unsafe.Pointer(uintptr(addr)))) }
func mmioWrite(addr uint32, v uint32) {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(uintptr(addr))), v)
}

// calibrateLAPIC measures the LAPIC timer against the (calibrated) TSC over
// 10 ms, with the timer masked.
func calibrateLAPIC() uint64 {
	mmioWrite(LAPIC_TIMER_DIVIDE, DIVIDE_BY_1)
	mmioWrite(LAPIC_LVT_TIMER, LVT_MASKED|amd64.IRQ_WAKEUP)
	mmioWrite(LAPIC_TIMER_INITIAL, math.MaxUint32)
	t0 := AMD64.GetTime()
	for AMD64.GetTime()-t0 < 10_000_000 {
	}
	cur := mmioRead(LAPIC_TIMER_CURRENT)
	ns := uint64(AMD64.GetTime() - t0)
	mmioWrite(LAPIC_TIMER_INITIAL, 0)
	if cur == 0 || ns == 0 {
		return 0
	}
	return uint64(math.MaxUint32-cur) * 1e9 / ns
}

// installIdleGovernor picks how the CPU waits for work: the TSC-deadline
// alarm when the CPU has it, the LAPIC timer otherwise.
func installIdleGovernor() string {
	if AMD64.Features().TSCDeadline {
		goos.Idle = func(pollUntil int64) {
			if pollUntil == 0 {
				return
			}
			AMD64.SetAlarm(pollUntil)
			AMD64.WaitInterrupt()
			AMD64.SetAlarm(0)
		}
		return "tsc-deadline"
	}

	if lapicHz = calibrateLAPIC(); lapicHz == 0 {
		return "spin"
	}
	goos.Idle = lapicIdle
	return "lapic-timer"
}

// lapicIdle runs on the scheduler's stack: no allocation, no locks.
func lapicIdle(pollUntil int64) {
	if pollUntil == 0 {
		return
	}
	d := pollUntil - AMD64.GetTime()
	if d <= 0 {
		return
	}
	if d > maxIdlePeriod {
		d = maxIdlePeriod
	}
	count := uint64(d) * lapicHz / 1e9
	if count == 0 {
		return
	}
	mmioWrite(LAPIC_LVT_TIMER, LVT_MODE_PERIODIC|amd64.IRQ_WAKEUP)
	mmioWrite(LAPIC_TIMER_INITIAL, uint32(count))
	AMD64.WaitInterrupt()
	mmioWrite(LAPIC_TIMER_INITIAL, 0)
}
