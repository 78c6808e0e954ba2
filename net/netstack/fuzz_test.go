package netstack_test

import (
	"encoding/binary"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
)

// synFrame is a well-formed Ethernet/IPv4/TCP SYN from 10.0.0.9 to
// 10.0.0.1:port, checksums right, so the fuzzer starts deep in the stack.
func synFrame(port uint16) []byte {
	f := make([]byte, header.EthernetMinimumSize+header.IPv4MinimumSize+header.TCPMinimumSize)
	header.Ethernet(f).Encode(&header.EthernetFields{
		SrcAddr: tcpip.LinkAddress("\x02\x00\x00\x00\x00\x09"),
		DstAddr: tcpip.LinkAddress("\x02\x00\x00\x00\x00\x01"),
		Type:    header.IPv4ProtocolNumber,
	})
	src, dst := tcpip.AddrFrom4([4]byte{10, 0, 0, 9}), tcpip.AddrFrom4([4]byte{10, 0, 0, 1})
	ip := header.IPv4(f[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{
		TotalLength: header.IPv4MinimumSize + header.TCPMinimumSize,
		TTL:         64,
		Protocol:    uint8(header.TCPProtocolNumber),
		SrcAddr:     src,
		DstAddr:     dst,
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	tcp := header.TCP(ip.Payload())
	tcp.Encode(&header.TCPFields{SrcPort: 40000, DstPort: port, SeqNum: 1, DataOffset: header.TCPMinimumSize, Flags: header.TCPFlagSyn, WindowSize: 65535})
	sum := header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dst, header.TCPMinimumSize)
	tcp.SetChecksum(^tcp.CalculateChecksum(sum))
	return f
}

// FuzzDeliverFrame feeds raw frames from the wire to a running stack, as a
// NIC driver does: it must never panic, and every frame is counted as
// received or dropped.
func FuzzDeliverFrame(f *testing.F) {
	f.Add(synFrame(80))
	f.Add(synFrame(9))
	arp := make([]byte, 14+28)
	copy(arp, "\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x09\x08\x06")
	binary.BigEndian.PutUint16(arp[14:], 1)      // Ethernet
	binary.BigEndian.PutUint16(arp[16:], 0x0800) // IPv4
	arp[18], arp[19] = 6, 4
	binary.BigEndian.PutUint16(arp[20:], 1) // request
	copy(arp[22:], "\x02\x00\x00\x00\x00\x09\x0a\x00\x00\x09\x00\x00\x00\x00\x00\x00\x0a\x00\x00\x01")
	f.Add(arp)
	f.Add([]byte("\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x09\x86\xdd" + "\x60\x00\x00\x00\x00\x08\x3a\xff"))

	a, _ := pair(f)
	f.Fuzz(func(t *testing.T, frame []byte) {
		st := &a.Link.Stats
		before := st.RxFrames.Load() + st.RxDropped.Load()
		a.Deliver(frame)
		if after := st.RxFrames.Load() + st.RxDropped.Load(); after != before+1 {
			t.Fatalf("frame of %d bytes counted %d times", len(frame), after-before)
		}
	})
}
