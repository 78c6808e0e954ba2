//go:build tamago

package virtionet

import "github.com/usbarmory/tamago/dma"

// newQueue reserves DMA memory for a queue of size descriptors, each with a
// buffer of bufSize bytes and the given descriptor flags: one reservation
// holds all buffers, one the rings.
func newQueue(size uint16, bufSize int, flags uint16) *queue {
	ringBase, ring := dma.Reserve(ringLen(size), pageSize)
	bufBase, bufs := dma.Reserve(int(size)*bufSize, 64)
	return newQueueIn(size, bufSize, flags, ring, ringBase, bufs, bufBase)
}
