//go:build tamago

package main

import (
	"io"
	"time"
)

// pollInterval is how long the console waits between UART polls when no
// byte is waiting: short enough for typing, long enough that an idle console
// lets the CPU halt.
const pollInterval = 10 * time.Millisecond

// console adapts a UART, whose Read returns 0 bytes when nothing is waiting,
// to the blocking io.ReadWriter the shell's terminal expects.
type console struct{ uart io.ReadWriter }

func (c console) Read(p []byte) (int, error) {
	for {
		n, err := c.uart.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
		time.Sleep(pollInterval)
	}
}

// Write writes all of p. tamago's UART Write reports one byte less than it
// wrote, which writers that check for short writes (tabwriter) take as an
// error, so the count is not passed on.
func (c console) Write(p []byte) (int, error) {
	if _, err := c.uart.Write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}
