package netstack

import (
	"fmt"
	"io"
)

// LinkState reports whether a NIC has carrier; drivers that cannot tell
// report up.
type LinkState interface {
	LinkUp() bool
}

// WriteInfo prints the interface configuration and the link and IP counters
// for the console's `net` command.
func (s *Stack) WriteInfo(w io.Writer, link LinkState) {
	up := "up"
	if link != nil && !link.LinkUp() {
		up = "down"
	}
	c := s.Config
	fmt.Fprintf(w, "interface  mac %s  mtu %d  link %s\n", c.MAC, c.MTU, up)
	fmt.Fprintf(w, "address    %s\n", c.Address)
	if c.Gateway.IsValid() {
		fmt.Fprintf(w, "gateway    %s\n", c.Gateway)
	} else {
		fmt.Fprintf(w, "gateway    none\n")
	}
	l := &s.Link.Stats
	fmt.Fprintf(w, "rx         %d frames  %d bytes  %d dropped\n", l.RxFrames.Load(), l.RxBytes.Load(), l.RxDropped.Load())
	fmt.Fprintf(w, "tx         %d frames  %d bytes  %d errors\n", l.TxFrames.Load(), l.TxBytes.Load(), l.TxErrors.Load())
	st := s.S.Stats()
	fmt.Fprintf(w, "ip         %d received  %d sent  %d malformed\n",
		st.IP.PacketsReceived.Value(), st.IP.PacketsSent.Value(), st.IP.MalformedPacketsReceived.Value())
	fmt.Fprintf(w, "tcp        %d active opens  %d passive opens  %d established  %d failed  %d resets sent\n",
		st.TCP.ActiveConnectionOpenings.Value(), st.TCP.PassiveConnectionOpenings.Value(),
		st.TCP.CurrentEstablished.Value(), st.TCP.FailedConnectionAttempts.Value(), st.TCP.ResetsSent.Value())
	fmt.Fprintf(w, "icmp       %d echo requests  %d echo replies sent\n",
		st.ICMP.V4.PacketsReceived.EchoRequest.Value(), st.ICMP.V4.PacketsSent.EchoReply.Value())
}
