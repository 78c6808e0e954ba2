//go:build tamago && amd64

package microvm

// Time keeping without kvmclock.
//
// Under QEMU software emulation (TCG) there is neither kvmclock nor an
// invariant-TSC CPUID leaf, so tamago cannot learn the TSC frequency and its
// pvclock package panics. The TSC still runs at a constant rate, so it is
// calibrated here against the i8254 PIT (channel 0, read by latching, which
// needs no speaker-port gate), falling back to the CMOS RTC's seconds edge.

const (
	// Intel 8254 Programmable Interval Timer
	PIT_CH0 = 0x40
	PIT_CMD = 0x43
	PIT_HZ  = 1193182

	// CMOS real-time clock index/data ports
	CMOS_INDEX   = 0x70
	CMOS_DATA    = 0x71
	RTC_SEC      = 0x00
	RTC_STATUS_A = 0x0a
	RTC_UIP      = 0x80 // update in progress
)

// pitTicks is how long the PIT calibration runs: 20 ms.
const pitTicks = PIT_HZ / 50

func pitRead() uint16 {
	outb(PIT_CMD, 0x00) // counter latch command, channel 0
	lo := inb(PIT_CH0)
	hi := inb(PIT_CH0)
	return uint16(hi)<<8 | uint16(lo)
}

// calibratePIT returns the TSC frequency in Hz, or 0 when no PIT answers.
func calibratePIT() uint64 {
	// channel 0, lobyte/hibyte access, mode 2 (rate generator), binary,
	// reload value 0 meaning 65536
	outb(PIT_CMD, 0x34)
	outb(PIT_CH0, 0)
	outb(PIT_CH0, 0)

	prev := pitRead()
	// wait for the first edge so the measurement starts on a tick boundary
	for i := 0; ; i++ {
		if c := pitRead(); c != prev {
			prev = c
			break
		}
		if i > 1_000_000 {
			return 0 // counter frozen: no PIT
		}
	}

	t0 := AMD64.Counter()
	elapsed := uint64(0)
	stuck := 0
	for elapsed < pitTicks {
		c := pitRead()
		if c == prev {
			if stuck++; stuck > 1_000_000 {
				return 0
			}
			continue
		}
		stuck = 0
		elapsed += uint64(prev - c) // down counter: uint16 arithmetic wraps
		prev = c
	}
	t1 := AMD64.Counter()

	return (t1 - t0) * PIT_HZ / elapsed
}

func cmosRead(index uint8) uint8 {
	outb(CMOS_INDEX, index)
	return inb(CMOS_DATA)
}

// calibrateRTC returns the TSC frequency in Hz measured over one RTC second
// (one to two seconds of boot time), or 0 when no RTC ticks.
func calibrateRTC() uint64 {
	waitEdge := func() bool {
		s := cmosRead(RTC_SEC)
		for i := 0; i < 1_000_000_000; i++ {
			if cmosRead(RTC_STATUS_A)&RTC_UIP != 0 {
				continue
			}
			if cmosRead(RTC_SEC) != s {
				return true
			}
		}
		return false
	}
	if !waitEdge() {
		return 0
	}
	t0 := AMD64.Counter()
	if !waitEdge() {
		return 0
	}
	return AMD64.Counter() - t0
}

// calibrate sets the CPU timer multiplier from a measured TSC frequency and
// returns that frequency (0 when neither source worked).
func calibrate() (hz uint64, source string) {
	if hz = calibratePIT(); hz != 0 {
		source = "pit"
	} else if hz = calibrateRTC(); hz != 0 {
		source = "rtc"
	} else {
		return 0, "none"
	}
	AMD64.TimerMultiplier = 1e9 / float64(hz)
	AMD64.TimerOffset = 0
	return
}
