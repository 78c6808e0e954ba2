package virtionet

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
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

	// bufferSize holds the largest frame without mergeable receive buffers:
	// a 12-byte virtio_net_hdr and a 1514-byte frame, rounded up.
	bufferSize = 2048
)

// queue is one split virtqueue with a fixed DMA buffer per descriptor.
// It is not safe for concurrent use: the driver gives each queue one owner
// (the polling goroutine for receive, the link's transmit lock for send).
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
	// outstanding marks the descriptors offered to the device and not yet
	// returned: a used element naming any other is the device's error,
	// and taking it would hand one buffer out twice.
	outstanding []bool
	returned    []uint16 // drain's scratch: buffers to offer again
}

// newQueueIn lays a queue of size descriptors out in ring (the rings, at
// bus address ringBase, ringLen(size) bytes) and bufs (size buffers of
// bufSize bytes, at bus address bufBase). The image passes DMA memory;
// tests pass ordinary slices and play the device themselves.
func newQueueIn(size uint16, bufSize int, flags uint16, ring []byte, ringBase uint, bufs []byte, bufBase uint) *queue {
	q := &queue{size: size, bufSize: bufSize, outstanding: make([]bool, size), returned: make([]uint16, 0, size)}
	n := int(size)
	descLen := descSize * n
	availLen := 6 + 2*n
	usedOff := align(descLen+availLen, pageSize)
	usedLen := 6 + 8*n
	clear(ring)
	q.desc = ring[:descLen]
	q.avail = ring[descLen : descLen+availLen]
	q.used = ring[usedOff : usedOff+usedLen]
	q.descAddr = ringBase
	q.availAddr = ringBase + uint(descLen)
	q.usedAddr = ringBase + uint(usedOff)
	q.bufs = make([][]byte, n)
	for i := 0; i < n; i++ {
		q.bufs[i] = bufs[i*bufSize : (i+1)*bufSize : (i+1)*bufSize]
		q.setDesc(uint16(i), uint64(bufBase)+uint64(i*bufSize), uint32(bufSize), flags)
	}
	return q
}

// ringLen is the bytes the rings of a size-descriptor queue take.
func ringLen(size uint16) int {
	n := int(size)
	return align(descSize*n+6+2*n, pageSize) + 6 + 8*n
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
	q.outstanding[id] = true
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

// next consumes one used element: descriptor id and bytes written. more
// is false when the used ring is empty; ok is false for an element the
// driver refuses (an id out of range, or one not offered), which is
// consumed and dropped: a device's word is never trusted to index memory
// or to hand a buffer out twice.
func (q *queue) next() (id uint16, length uint32, ok, more bool) {
	if !q.pending() {
		return 0, 0, false, false
	}
	e := q.used[4+8*int(q.lastUsed%q.size):]
	raw := binary.LittleEndian.Uint32(e[0:])
	length = binary.LittleEndian.Uint32(e[4:])
	q.lastUsed++
	if raw >= uint32(q.size) || !q.outstanding[raw] {
		return 0, 0, false, true
	}
	id = uint16(raw)
	q.outstanding[id] = false
	return id, length, true, true
}

// drain hands each frame the device wrote to deliver (without the hdrLen
// bytes of virtio_net_hdr), offers its buffer again, and publishes the
// ring. It returns the frames delivered and the elements refused (out of
// range, not offered, shorter than a header or longer than the buffer).
// One call consumes at most one ring's worth, so a device that keeps
// claiming more cannot hold the driver in the loop.
func (q *queue) drain(hdrLen int, deliver func([]byte)) (frames, refused int) {
	// buffers are offered again only after the pass, so that a device
	// returning one twice in a pass has the second refused
	q.returned = q.returned[:0]
	for i := 0; i < int(q.size); i++ {
		id, length, ok, more := q.next()
		if !more {
			break
		}
		if !ok {
			refused++
			continue
		}
		if int(length) > hdrLen && int(length) <= len(q.bufs[id]) {
			frames++
			if deliver != nil {
				deliver(q.bufs[id][hdrLen:length])
			}
		} else {
			refused++
		}
		q.returned = append(q.returned, id)
	}
	for _, id := range q.returned {
		q.offer(id)
	}
	if frames > 0 || refused > 0 {
		q.publish(0)
	}
	return frames, refused
}

// reclaim moves the descriptors the device has finished sending to the free
// list, and returns how many elements it refused.
func (q *queue) reclaim() (refused int) {
	for i := 0; i < int(q.size); i++ {
		id, _, ok, more := q.next()
		if !more {
			break
		}
		if !ok {
			refused++
			continue
		}
		q.free = append(q.free, id)
	}
	return refused
}

// deviceWantsNotify reports whether the device asked to be told of new buffers.
func (q *queue) deviceWantsNotify() bool {
	flags, _ := q.usedState()
	return flags&VIRTQ_USED_F_NO_NOTIFY == 0
}
