//go:build linux

// Package tapdev is a netstack device over a Linux TAP interface, so the
// hosted gateway can serve through gVisor's netstack exactly as the image
// does, with the host kernel on the other end of the wire: the benchmark
// measures the netstack's cost against the kernel's own TCP with it. It
// is for hosted mode only (Linux); the image has its own NIC drivers.
package tapdev

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Tap is an open TAP interface; it implements netstack.Device.
type Tap struct {
	fd   int
	name string
	mac  net.HardwareAddr

	// RxFrames, TxFrames and TxErrors count frames.
	RxFrames, TxFrames, TxErrors atomic.Uint64
	closed                       atomic.Bool
}

// Open attaches to the TAP interface name (creating it if the caller may),
// without packet information headers: each read and write is one Ethernet
// frame. The interface is brought up and configured by the caller (ip
// link/addr), which needs CAP_NET_ADMIN.
func Open(name string, mac net.HardwareAddr) (*Tap, error) {
	if len(mac) != 6 {
		return nil, errors.New("tapdev: MAC must be 6 bytes")
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tapdev: /dev/net/tun: %v", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tapdev: interface name %q: %v", name, err)
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tapdev: TUNSETIFF %s: %v", name, err)
	}
	return &Tap{fd: fd, name: name, mac: mac}, nil
}

// Name is the interface's name.
func (t *Tap) Name() string { return t.name }

// MAC is the address the netstack side uses.
func (t *Tap) MAC() net.HardwareAddr { return t.mac }

// Transmit implements netstack.Device.Transmit: one writev per frame.
func (t *Tap) Transmit(parts [][]byte) error {
	if _, err := unix.Writev(t.fd, parts); err != nil {
		t.TxErrors.Add(1)
		return fmt.Errorf("tapdev: write: %v", err)
	}
	t.TxFrames.Add(1)
	return nil
}

// Flush implements netstack.Device.Flush: the kernel takes each write at
// once, there is no batch to publish.
func (t *Tap) Flush() {}

// Start reads frames and hands each to deliver, on its own goroutine,
// until Close. deliver must copy what it keeps: the buffer is reused.
func (t *Tap) Start(deliver func([]byte)) {
	go func() {
		buf := make([]byte, 65536)
		for !t.closed.Load() {
			n, err := unix.Read(t.fd, buf)
			if err != nil {
				if err == unix.EINTR || err == unix.EAGAIN {
					continue
				}
				return
			}
			t.RxFrames.Add(1)
			deliver(buf[:n])
		}
	}()
}

// Close detaches from the interface.
func (t *Tap) Close() error {
	t.closed.Store(true)
	return unix.Close(t.fd)
}
