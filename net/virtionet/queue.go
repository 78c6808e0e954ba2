//go:build tamago

package virtionet

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"

	"github.com/usbarmory/tamago/dma"
)

// Split virtqueue layout, Virtual I/O Device (VIRTIO) Version 1.2,
// 2.7 Split Virtqueues:
//
//	descriptor table  16 bytes each, 16-byte aligned  (2.7.5)
//	available ring    flags, idx, ring[size], used_event  (2.7.6)
//	used ring         flags, idx, ring[size]{id, len}, avail_event  (2.7.8)
const (
	descSize = 16

	VIRTQ_DESC_F_WRITE = 2 // 2.7.5: buffer is device write-only

	VIRTQ_AVAIL_F_NO_INTERRUPT = 1 // 2.7.7: driver needs no used-buffer interrupt
	VIRTQ_USED_F_NO_NOTIFY     = 1 // 2.7.10: device needs no available-buffer notification

	pageSize = 4096
)

// queue is one split virtqueue with a fixed DMA buffer per descriptor.
// It is not safe for concurrent use: the driver gives each queue one owner
// (the interrupt goroutine for receive, the link's transmit lock for send).
type queue struct {
	size uint16

	desc  []byte // DMA: descriptor table
	avail []byte // DMA: driver area
	used  []byte // DMA: device area

	descAddr, availAddr, usedAddr uint

	bufs    [][]byte // DMA buffer of each descriptor
	bufSize int

	availIdx uint16   // next free slot in the available ring (driver shadow)
	lastUsed uint16   // next used element to consume
	free     []uint16 // descriptors the driver owns (transmit queue)
}

// newQueue reserves DMA memory for a queue of size descriptors, each with a
// buffer of bufSize bytes and the given descriptor flags. One reservation holds all buffers, one the rings.
func newQueue(size uint16, bufSize int, flags uint16) *queue {
	q := &queue{size: size, bufSize: bufSize}

	n := int(size)
	descLen := descSize * n
	availLen := 6 + 2*n
	usedOff := align(descLen+availLen, pageSize)
	usedLen := 6 + 8*n

	base, ring := dma.Reserve(usedOff+usedLen, pageSize)
	clear(ring)
	q.desc = ring[:descLen]
	q.avail = ring[descLen : descLen+availLen]
	q.used = ring[usedOff : usedOff+usedLen]
	q.descAddr = base
	q.availAddr = base + uint(descLen)
	q.usedAddr = base + uint(usedOff)

	bufBase, bufs := dma.Reserve(n*bufSize, 64)
	q.bufs = make([][]byte, n)
	for i := 0; i < n; i++ {
		q.bufs[i] = bufs[i*bufSize : (i+1)*bufSize : (i+1)*bufSize]
		q.setDesc(uint16(i), uint64(bufBase)+uint64(i*bufSize), uint32(bufSize), flags)
	}
	return q
}

func align(n, a int) int { return (n + a - 1) &^ (a - 1) }

func (q *queue) setDesc(id uint16, addr uint64, length uint32, flags uint16) {
	d := q.desc[int(id)*descSize:]
	binary.LittleEndian.PutUint64(d[0:], addr)
	binary.LittleEndian.PutUint32(d[8:], length)
	binary.LittleEndian.PutUint16(d[12:], flags)
	binary.LittleEndian.PutUint16(d[14:], 0)
}

func (q *queue) setDescLen(id uint16, length uint32) {
	binary.LittleEndian.PutUint32(q.desc[int(id)*descSize+8:], length)
}

// offer places descriptor id in the available ring without publishing it.
func (q *queue) offer(id uint16) {
	binary.LittleEndian.PutUint16(q.avail[4+2*int(q.availIdx%q.size):], id)
	q.availIdx++
}

// publish makes offered descriptors visible to the device. The ring entries
// were written with plain stores before this atomic one, and the device
// reads idx before the entries (2.7.13: "memory barrier before idx update").
func (q *queue) publish(flags uint16) {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&q.avail[0])), uint32(flags)|uint32(q.availIdx)<<16)
}

// usedState returns the device's used ring flags and index in one load.
func (q *queue) usedState() (flags, idx uint16) {
	w := atomic.LoadUint32((*uint32)(unsafe.Pointer(&q.used[0])))
	return uint16(w), uint16(w >> 16)
}

// pending reports whether the device returned buffers not yet consumed.
func (q *queue) pending() bool {
	_, idx := q.usedState()
	return idx != q.lastUsed
}

// next consumes one used element: descriptor id and bytes written.
func (q *queue) next() (id uint16, length uint32, ok bool) {
	if !q.pending() {
		return 0, 0, false
	}
	e := q.used[4+8*int(q.lastUsed%q.size):]
	id = uint16(binary.LittleEndian.Uint32(e[0:]))
	length = binary.LittleEndian.Uint32(e[4:])
	q.lastUsed++
	if id >= q.size {
		// A device bug; never index out of range on its word.
		return 0, 0, false
	}
	return id, length, true
}

// deviceWantsNotify reports whether the device asked to be told of new buffers.
func (q *queue) deviceWantsNotify() bool {
	flags, _ := q.usedState()
	return flags&VIRTQ_USED_F_NO_NOTIFY == 0
}
