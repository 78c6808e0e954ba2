//go:build tamago && amd64

// Package microvm is raygate's board for the QEMU x86_64 `microvm` machine,
// under KVM and under software emulation (TCG).
//
// It differs from tamago's board/qemu/microvm where TCG needs it: the TSC is
// calibrated against the PIT or the RTC when kvmclock is missing (clock.go),
// and RAM and DMA fit in `-m 512M` (mem.go). It wires tamago's amd64, IOAPIC,
// UART and RTC drivers; the NIC is a virtio-net device on a virtio-mmio slot,
// found by probing (net/virtionet).
//
// This package is only meant to be used with GOOS=tamago GOARCH=amd64.
package microvm

import (
	"runtime/goos"
	"time"
	_ "unsafe"

	"github.com/usbarmory/tamago/amd64"
	"github.com/usbarmory/tamago/dma"
	"github.com/usbarmory/tamago/kvm/pvclock"
	"github.com/usbarmory/tamago/soc/intel/ioapic"
	"github.com/usbarmory/tamago/soc/intel/rtc"
	"github.com/usbarmory/tamago/soc/intel/uart"
)

// Peripheral registers
const (
	// Communication port
	COM1 = 0x3f8

	// Intel I/O Programmable Interrupt Controllers
	IOAPIC0_BASE = 0xfec00000
	IOAPIC1_BASE = 0xfec10000

	// VirtIO Memory-mapped I/O: QEMU microvm lays out 24 transports of
	// 512 bytes from this base, transport n raising GSI 24+n (with the
	// second IOAPIC, the default).
	VIRTIO_MMIO_BASE  = 0xfeb00000
	VIRTIO_MMIO_SLOTS = 24
	VIRTIO_MMIO_SIZE  = 0x200
	VIRTIO_MMIO_GSI   = 24
)

// Peripheral instances
var (
	// AMD64 is the bootstrap processor.
	AMD64 = &amd64.CPU{
		// required before Init()
		TimerMultiplier: 1,
	}

	// IOAPIC0 serves GSI 0-23.
	IOAPIC0 = &ioapic.IOAPIC{
		Index:   0,
		Base:    IOAPIC0_BASE,
		GSIBase: 0,
	}

	// IOAPIC1 serves GSI 24-47 (the virtio-mmio transports).
	IOAPIC1 = &ioapic.IOAPIC{
		Index:   1,
		Base:    IOAPIC1_BASE,
		GSIBase: 24,
	}

	// RTC is the CMOS real-time clock.
	RTC = &rtc.RTC{}

	// UART0 is the serial console (COM1).
	UART0 = &uart.UART{
		Index: 1,
		Base:  COM1,
	}
)

// Clock describes how the board keeps time, for the boot banner.
var Clock struct {
	// Source is "kvmclock", "pit", "rtc" or "none".
	Source string
	// TSCHz is the measured or reported TSC frequency.
	TSCHz uint64
}

//go:linkname nanotime runtime/goos.Nanotime
func nanotime() int64 {
	return AMD64.GetTime()
}

// Init takes care of the lower level initialization triggered early in runtime
// setup (post World start).
//
//go:linkname Init runtime/goos.Hwinit1
func Init() {
	// initialize BSP (features, timer frequency when KVM reports it)
	AMD64.Init()

	// initialize I/O APICs
	IOAPIC0.Init()
	IOAPIC1.Init()

	// initialize serial console
	UART0.Init()

	// Without kvmclock the TSC frequency is unknown: measure it now, before
	// anything has read the clock, so time never jumps backwards.
	if f := AMD64.Features(); !(f.KVM && f.KVMClockMSR > 0) {
		Clock.TSCHz, Clock.Source = calibrate()
	} else {
		Clock.Source = "kvmclock"
		Clock.TSCHz = uint64(AMD64.Freq())
	}

	goos.Exit = func(_ int32) {
		// On microvm the recommended way to trigger a guest-initiated
		// shut down is by generating a triple-fault.
		amd64.Fault()
	}
}

func init() {
	// trap CPU exceptions
	AMD64.EnableExceptions()

	// allocate global DMA region
	dma.Init(dmaStart, dmaSize)

	if Clock.Source == "kvmclock" {
		pvclock.Init(AMD64)
	}

	// halt, rather than spin, while there is nothing to run
	AMD64.LAPIC.Enable()
	Idle = installIdleGovernor()

	// wall clock from the CMOS RTC; the monotonic clock only moves forward
	if t, err := RTC.Now(); err == nil && t.Year() > 2000 {
		AMD64.SetTime(t.UnixNano())
	}
}

// SinceReset returns the time since the CPU left reset, from the TSC.
func SinceReset() time.Duration {
	return time.Duration(float64(AMD64.Counter()) * AMD64.TimerMultiplier)
}

// Reset reboots the machine (a triple fault: microvm has no reset port).
func Reset() {
	amd64.Fault()
}

// vector is the CPU interrupt vector the NIC's GSI is redirected to.
const vector = 32

// ServiceInterrupts routes gsi to the bootstrap processor and calls isr on
// every interrupt, on the calling goroutine, forever. tamago wakes that
// goroutine with runtime.WakeG from interrupt context; on amd64 its timer
// heap scan is bounded (it gives up below etext), so a wake-up can be
// lost but memory is not touched: the kernel polls as well (kernel/poll.go).
func ServiceInterrupts(gsi int, isr func()) {
	if gsi >= IOAPIC1.GSIBase {
		IOAPIC1.EnableInterrupt(gsi, vector)
	} else {
		IOAPIC0.EnableInterrupt(gsi, vector)
	}

	AMD64.ServiceInterrupts(func(v int) {
		if v == vector {
			isr()
		}
	})
}

// Idle names how the CPU waits for work: "tsc-deadline" or "lapic-timer"
// (halted until a timer or interrupt) or "spin".
var Idle = "spin"
