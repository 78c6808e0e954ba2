package virtionet

import (
	"encoding/binary"
	"testing"
)

// device plays the device's side of a queue built over ordinary memory.
type device struct {
	q   *queue
	idx uint16 // the device's used index
}

func newTestQueue(size uint16, flags uint16) *queue {
	ring := make([]byte, ringLen(size))
	bufs := make([]byte, int(size)*bufferSize)
	return newQueueIn(size, bufferSize, flags, ring, 0x1000, bufs, 0x100000)
}

// use writes one used element and publishes it.
func (d *device) use(id, length uint32) {
	e := d.q.used[4+8*int(d.idx%d.q.size):]
	binary.LittleEndian.PutUint32(e[0:], id)
	binary.LittleEndian.PutUint32(e[4:], length)
	d.idx++
	binary.LittleEndian.PutUint16(d.q.used[2:], d.idx)
}

// avail returns the descriptor ids the driver has published, in order.
func (d *device) avail(from uint16) []uint16 {
	idx := binary.LittleEndian.Uint16(d.q.avail[2:])
	var out []uint16
	for i := from; i != idx; i++ {
		out = append(out, binary.LittleEndian.Uint16(d.q.avail[4+2*int(i%d.q.size):]))
	}
	return out
}

func TestRingLayout(t *testing.T) {
	q := newTestQueue(256, VIRTQ_DESC_F_WRITE)
	if q.usedAddr%pageSize != 0 || q.usedAddr-q.descAddr != 8192 || q.availAddr-q.descAddr != 4096 {
		t.Errorf("layout: desc %#x avail %#x used %#x", q.descAddr, q.availAddr, q.usedAddr)
	}
	d := q.desc[5*descSize:]
	if binary.LittleEndian.Uint64(d) != 0x100000+5*bufferSize || binary.LittleEndian.Uint32(d[8:]) != bufferSize || binary.LittleEndian.Uint16(d[12:]) != VIRTQ_DESC_F_WRITE {
		t.Errorf("descriptor 5: %x", d[:16])
	}
}

func TestReceiveDeliversFramesAndReoffers(t *testing.T) {
	q := newTestQueue(8, VIRTQ_DESC_F_WRITE)
	for i := uint16(0); i < 8; i++ {
		q.offer(i)
	}
	q.publish(0)
	dev := &device{q: q}
	offered := dev.avail(0)
	if len(offered) != 8 {
		t.Fatalf("%d offered", len(offered))
	}
	for i, id := range offered[:3] {
		copy(q.bufs[id][12:], []byte{byte(i), 0xaa})
		dev.use(uint32(id), 12+60)
	}
	var got [][]byte
	frames, refused := q.drain(12, func(b []byte) { got = append(got, append([]byte(nil), b...)) })
	if frames != 3 || refused != 0 || len(got) != 3 || got[2][0] != 2 || len(got[0]) != 60 {
		t.Fatalf("frames %d refused %d got %d", frames, refused, len(got))
	}
	if again := dev.avail(8); len(again) != 3 {
		t.Errorf("%d buffers offered again, want 3", len(again))
	}
}

// TestHostileDevice: a device that names descriptors out of range or not
// offered, returns one twice, claims lengths past the buffer, or moves its
// index far ahead gets each element refused; nothing indexes out of range
// and no buffer is delivered twice for one offer.
func TestHostileDevice(t *testing.T) {
	q := newTestQueue(8, VIRTQ_DESC_F_WRITE)
	q.offer(0)
	q.offer(1)
	q.publish(0)
	dev := &device{q: q}
	dev.use(1, 100)      // fine
	dev.use(1, 100)      // twice
	dev.use(7, 100)      // never offered
	dev.use(0xffff, 100) // out of range
	dev.use(1<<31, 100)  // out of range, high bits
	dev.use(0, 5)        // shorter than a header
	frames, refused := q.drain(12, func([]byte) {})
	if frames != 1 || refused != 5 {
		t.Errorf("frames %d, refused %d; want 1 and 5", frames, refused)
	}
	// descriptor 0 came back (too short) and was offered again; a length
	// past the buffer is refused
	dev.use(0, bufferSize+1)
	if frames, refused := q.drain(12, func([]byte) {}); frames != 0 || refused != 1 {
		t.Errorf("oversized: frames %d refused %d", frames, refused)
	}
	// the index far ahead: drained a ring's worth at a time, refused
	binary.LittleEndian.PutUint16(q.used[2:], dev.idx+1000)
	total := 0
	for i := 0; i < 200; i++ {
		f, r := q.drain(12, func([]byte) {})
		total += f + r
		if f+r == 0 {
			break
		}
	}
	if total != 1000 {
		t.Errorf("%d elements consumed for an index 1000 ahead", total)
	}
}

func TestTransmitReclaimRefusesStrangers(t *testing.T) {
	q := newTestQueue(4, 0)
	q.offer(2)
	q.offer(3)
	q.publish(VIRTQ_AVAIL_F_NO_INTERRUPT)
	dev := &device{q: q}
	dev.use(3, 0)
	dev.use(3, 0) // twice: would put 3 on the free list twice
	dev.use(1, 0) // not in flight
	if refused := q.reclaim(); refused != 2 || len(q.free) != 1 || q.free[0] != 3 {
		t.Errorf("refused %d, free %v", refused, q.free)
	}
}

// FuzzUsedRing feeds arbitrary used elements to a receive and a transmit
// queue: nothing panics, every delivered frame lies inside one buffer, no
// buffer is delivered twice per offer, and the free list has no duplicates.
func FuzzUsedRing(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 100, 0, 0, 0, 1, 0, 0, 0, 60, 0, 0, 0})
	f.Add([]byte{255, 255, 0, 0, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		rx := newTestQueue(16, VIRTQ_DESC_F_WRITE)
		tx := newTestQueue(16, 0)
		for i := uint16(0); i < 16; i++ {
			rx.offer(i)
			if i%2 == 0 {
				tx.offer(i)
			}
		}
		rxd, txd := &device{q: rx}, &device{q: tx}
		for len(data) >= 8 && rxd.idx < 200 {
			id, length := binary.LittleEndian.Uint32(data), binary.LittleEndian.Uint32(data[4:])
			rxd.use(id, length)
			txd.use(id, length)
			data = data[8:]
		}
		seen := map[*byte]bool{}
		rx.drain(12, func(b []byte) {
			if len(b) == 0 || len(b) > bufferSize-12 {
				t.Fatalf("frame of %d bytes", len(b))
			}
			inside := false
			for _, buf := range rx.bufs {
				if &buf[12] == &b[0] {
					inside = true
				}
			}
			if !inside || seen[&b[0]] {
				t.Fatalf("frame outside the buffers or delivered twice")
			}
			seen[&b[0]] = true
		})
		tx.reclaim()
		dup := map[uint16]bool{}
		for _, id := range tx.free {
			if dup[id] || id%2 != 0 {
				t.Fatalf("free list %v", tx.free)
			}
			dup[id] = true
		}
	})
}

// TestIndexesWrap: the 16-bit ring indexes wrap after 65,536 buffers; the
// queue keeps working across the wrap on both sides.
func TestIndexesWrap(t *testing.T) {
	rx := newTestQueue(256, VIRTQ_DESC_F_WRITE)
	for i := uint16(0); i < 256; i++ {
		rx.offer(i)
	}
	rx.publish(0)
	dev := &device{q: rx}
	var availSeen uint16
	delivered := 0
	for delivered < 200000 {
		ids := dev.avail(availSeen)
		if len(ids) == 0 {
			t.Fatalf("after %d frames the driver offers nothing", delivered)
		}
		availSeen += uint16(len(ids))
		for _, id := range ids[:min(len(ids), 7)] {
			dev.use(uint32(id), 100)
		}
		n, bad := rx.drain(12, func([]byte) {})
		if bad != 0 || n != min(len(ids), 7) {
			t.Fatalf("at %d: %d frames, %d refused", delivered, n, bad)
		}
		// the ids not used yet are still outstanding: give them back in
		// the next round (the device keeps its own list)
		availSeen -= uint16(len(ids) - min(len(ids), 7))
		delivered += n
	}

	tx := newTestQueue(256, 0)
	for i := 255; i >= 0; i-- {
		tx.free = append(tx.free, uint16(i))
	}
	tdev := &device{q: tx}
	var seen uint16
	for sent := 0; sent < 200000; {
		for k := 0; k < 5 && len(tx.free) > 0; k++ {
			id := tx.free[len(tx.free)-1]
			tx.free = tx.free[:len(tx.free)-1]
			tx.offer(id)
			sent++
		}
		tx.publish(VIRTQ_AVAIL_F_NO_INTERRUPT)
		for _, id := range tdev.avail(seen) {
			tdev.use(uint32(id), 0)
			seen++
		}
		if bad := tx.reclaim(); bad != 0 || len(tx.free) != 256 {
			t.Fatalf("after %d frames: %d refused, %d free", sent, bad, len(tx.free))
		}
	}
}
