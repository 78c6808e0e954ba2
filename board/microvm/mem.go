//go:build tamago && amd64

package microvm

import (
	_ "unsafe"
)

// Memory layout, chosen so that `-m 512M` is enough and everything sits below
// the first GiB (the boot page tables map only the first GiB where 1 GiB pages
// are unavailable, as under TCG):
//
//	0x10000000  RAM start (tamago amd64 ramStart), image at +0x10000
//	0x1e000000  DMA region (virtqueues and their buffers), 16 MiB
//	0x1f000000  unused up to 512 MiB
const (
	ramStart = 0x10000000
	ramSizeB = 0x0e000000 // 224 MiB for code, heap and stacks
	dmaStart = ramStart + ramSizeB
	dmaSize  = 0x01000000
)

//go:linkname ramSize runtime/goos.RamSize
var ramSize uint64 = ramSizeB

// RAMSize is the memory given to the Go runtime, in bytes.
const RAMSize = ramSizeB
