// Package dnstest is a small authoritative DNS server over UDP for tests:
// it answers A and SRV queries from a table the test changes while it runs,
// and NXDOMAIN for names it does not know.
package dnstest

import (
	"crypto/rand"
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is a running test DNS server.
type Server struct {
	// Addr is the server's "ip:port".
	Addr string
	// Queries counts the queries received.
	Queries atomic.Int64

	mu  sync.Mutex
	a   map[string][]string
	srv map[string][]dnsmessage.SRVResource
	ttl uint32
	pc  net.PacketConn
	bad string // how answers are broken: "", garbage, truncated, wrong-id, servfail
}

// Break makes every answer bad until Break(""): "garbage" (random bytes),
// "truncated" (the first half of the answer), "wrong-id" (an answer to
// another query), "servfail" (RCODE 2), or "noise" (one of each of the
// first three, then the real answer, as an off-path spoofer would race it).
func (s *Server) Break(how string) {
	s.mu.Lock()
	s.bad = how
	s.mu.Unlock()
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves until Close.
func Start(addr string) (*Server, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: pc.LocalAddr().String(), a: map[string][]string{}, srv: map[string][]dnsmessage.SRVResource{}, pc: pc}
	go s.serve()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.pc.Close() }

func fqdn(n string) string {
	if n == "" || n[len(n)-1] != '.' {
		return n + "."
	}
	return n
}

// SetA sets a name's A records; no IPs removes the name (NXDOMAIN).
func (s *Server) SetA(name string, ips ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ips) == 0 {
		delete(s.a, fqdn(name))
		return
	}
	s.a[fqdn(name)] = ips
}

// SetSRV sets a name's SRV records as target:port pairs.
func (s *Server) SetSRV(name string, targets map[string]uint16) error {
	var rr []dnsmessage.SRVResource
	for t, port := range targets {
		n, err := dnsmessage.NewName(fqdn(t))
		if err != nil {
			return err
		}
		rr = append(rr, dnsmessage.SRVResource{Target: n, Port: port})
	}
	s.mu.Lock()
	s.srv[fqdn(name)] = rr
	s.mu.Unlock()
	return nil
}

// SetTTL sets the TTL of every answer.
func (s *Server) SetTTL(ttl uint32) {
	s.mu.Lock()
	s.ttl = ttl
	s.mu.Unlock()
}

func (s *Server) serve() {
	buf := make([]byte, 512)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		s.Queries.Add(1)
		var m dnsmessage.Message
		if m.Unpack(buf[:n]) != nil || len(m.Questions) != 1 {
			continue
		}
		q := m.Questions[0]
		reply := dnsmessage.Message{Header: dnsmessage.Header{ID: m.Header.ID, Response: true, Authoritative: true}, Questions: m.Questions}
		s.mu.Lock()
		hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: s.ttl}
		name := q.Name.String()
		_, knownA := s.a[name]
		_, knownSRV := s.srv[name]
		switch q.Type {
		case dnsmessage.TypeA:
			for _, ip := range s.a[name] {
				var a [4]byte
				copy(a[:], net.ParseIP(ip).To4())
				reply.Answers = append(reply.Answers, dnsmessage.Resource{Header: hdr, Body: &dnsmessage.AResource{A: a}})
			}
		case dnsmessage.TypeSRV:
			for _, r := range s.srv[name] {
				r := r
				reply.Answers = append(reply.Answers, dnsmessage.Resource{Header: hdr, Body: &r})
			}
		}
		if !knownA && !knownSRV {
			reply.Header.RCode = dnsmessage.RCodeNameError
		}
		bad := s.bad
		s.mu.Unlock()
		if bad == "noise" {
			good, err := reply.Pack()
			if err != nil {
				continue
			}
			junk := append([]byte(nil), good...)
			rand.Read(junk[2:])
			reply.Header.ID++
			other, _ := reply.Pack()
			for _, p := range [][]byte{junk, good[:len(good)/2], other, good} {
				s.pc.WriteTo(p, from)
			}
			continue
		}
		switch bad {
		case "wrong-id":
			reply.Header.ID++
		case "servfail":
			reply.Header.RCode = dnsmessage.RCodeServerFailure
			reply.Answers = nil
		}
		out, err := reply.Pack()
		if err != nil {
			continue
		}
		switch bad {
		case "garbage":
			rand.Read(out[2:])
		case "truncated":
			out = out[:len(out)/2]
		}
		s.pc.WriteTo(out, from)
	}
}
