package balance

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS discovery: a service names a host (A and AAAA records) or an SRV
// record; answers are re-resolved on the records' TTL, bounded by the
// service's min_ttl and max_ttl. Instances appear as answers add them and
// leave (drained: no new requests, in-flight ones finish) as answers drop
// them; while the resolver fails, the last answer stands. Queries are built
// and parsed with golang.org/x/net/dns/dnsmessage and sent over UDP through
// the gateway's dialer, so they work inside the image over the netstack.
type discovery struct {
	pool     *Pool
	dial     DialFunc
	resolver string
	max      int
	loop     background // the resolving loop

	mu        sync.Mutex
	lastErr   string
	lastOK    time.Time
	resolves  int
	failures  int
	nextCheck time.Time
}

func newDiscovery(p *Pool, dial DialFunc, resolver string, max int) *discovery {
	return &discovery{pool: p, dial: dial, resolver: resolver, max: max}
}

func (d *discovery) start() { d.loop.start(d.run) }
func (d *discovery) stop()  { d.loop.stop() }

func (d *discovery) run(ctx context.Context) {
	cfg := d.pool.cfg.Discovery
	for {
		addrs, ttl, err := d.resolve(ctx)
		wait := cfg.MinTTL.D()
		d.mu.Lock()
		d.resolves++
		if err != nil {
			d.failures++
			d.lastErr = err.Error()
		} else {
			d.lastErr, d.lastOK = "", d.pool.now()
			wait = min(max(ttl, cfg.MinTTL.D()), cfg.MaxTTL.D())
		}
		d.nextCheck = d.pool.now().Add(wait)
		d.mu.Unlock()
		if err == nil {
			d.apply(addrs)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// apply makes the pool's instances the static ones plus addrs.
func (d *discovery) apply(addrs []string) {
	p := d.pool
	old := p.list()
	byAddr := map[string]*Instance{}
	for _, in := range old {
		byAddr[in.Addr] = in
	}
	var next []*Instance
	seen := map[string]bool{}
	for _, ic := range p.cfg.Instances {
		next = append(next, byAddr[ic.Address])
		seen[ic.Address] = true
	}
	for _, a := range addrs {
		if seen[a] || len(next) >= d.max {
			continue
		}
		seen[a] = true
		in := byAddr[a]
		if in == nil {
			in = &Instance{Addr: a}
			in.weight.Store(1)
			in.upSince.Store(p.now().UnixNano())
		}
		next = append(next, in)
	}
	p.setList(next)
}

func (d *discovery) resolve(ctx context.Context) ([]string, time.Duration, error) {
	cfg := d.pool.cfg.Discovery
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if cfg.SRV != "" {
		answers, err := d.query(ctx, cfg.SRV, dnsmessage.TypeSRV)
		if err != nil {
			return nil, 0, err
		}
		var addrs []string
		ttl := time.Duration(-1)
		for _, a := range answers {
			srv, ok := a.Body.(*dnsmessage.SRVResource)
			if !ok {
				continue
			}
			ttl = minTTL(ttl, a.Header.TTL)
			ips, ipTTL, err := d.hostAddrs(ctx, srv.Target.String())
			if err != nil {
				continue
			}
			if ttl < 0 || ipTTL < ttl {
				ttl = ipTTL
			}
			for _, ip := range ips {
				addrs = append(addrs, net.JoinHostPort(ip, strconv.Itoa(int(srv.Port))))
			}
		}
		if len(addrs) == 0 {
			return nil, 0, fmt.Errorf("SRV %s: no usable targets", cfg.SRV)
		}
		sort.Strings(addrs)
		return addrs, max(ttl, 0), nil
	}
	ips, ttl, err := d.hostAddrs(ctx, cfg.DNS)
	if err != nil {
		return nil, 0, err
	}
	var addrs []string
	for _, ip := range ips {
		addrs = append(addrs, net.JoinHostPort(ip, strconv.Itoa(cfg.Port)))
	}
	sort.Strings(addrs)
	return addrs, ttl, nil
}

func minTTL(cur time.Duration, ttl uint32) time.Duration {
	d := time.Duration(ttl) * time.Second
	if cur < 0 || d < cur {
		return d
	}
	return cur
}

// hostAddrs resolves A and AAAA records of a host.
func (d *discovery) hostAddrs(ctx context.Context, host string) ([]string, time.Duration, error) {
	var ips []string
	ttl := time.Duration(-1)
	var firstErr error
	for _, t := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA} {
		answers, err := d.query(ctx, host, t)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		for _, a := range answers {
			switch b := a.Body.(type) {
			case *dnsmessage.AResource:
				ips = append(ips, net.IP(b.A[:]).String())
				ttl = minTTL(ttl, a.Header.TTL)
			case *dnsmessage.AAAAResource:
				ips = append(ips, net.IP(b.AAAA[:]).String())
				ttl = minTTL(ttl, a.Header.TTL)
			}
		}
	}
	if len(ips) == 0 {
		if firstErr == nil {
			firstErr = fmt.Errorf("%s: no A or AAAA records", host)
		}
		return nil, 0, firstErr
	}
	return ips, max(ttl, 0), nil
}

// maxDNSMessage bounds a UDP answer (EDNS is not used: 512 bytes is the
// classic limit, larger answers come truncated).
const maxDNSMessage = 4096

func (d *discovery) query(ctx context.Context, name string, t dnsmessage.Type) ([]dnsmessage.Resource, error) {
	if name == "" || name[len(name)-1] != '.' {
		name += "."
	}
	qname, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, fmt.Errorf("bad DNS name %q: %v", name, err)
	}
	id := uint16(rand.IntN(1 << 16))
	msg := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: qname, Type: t, Class: dnsmessage.ClassINET}},
	}
	packet, err := msg.Pack()
	if err != nil {
		return nil, err
	}
	conn, err := d.dial(ctx, "udp", d.resolver)
	if err != nil {
		return nil, fmt.Errorf("resolver %s: %v", d.resolver, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := conn.Write(packet); err != nil {
		return nil, fmt.Errorf("resolver %s: %v", d.resolver, err)
	}
	buf := make([]byte, maxDNSMessage)
	malformed, mismatched := 0, 0
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if malformed+mismatched > 0 {
				return nil, fmt.Errorf("resolver %s: no valid answer (%d malformed and %d mismatched replies ignored): %v", d.resolver, malformed, mismatched, err)
			}
			return nil, fmt.Errorf("resolver %s: %v", d.resolver, err)
		}
		// Bad packets do not end the query: an off-path sender could
		// otherwise make any lookup fail by racing the real answer.
		var reply dnsmessage.Message
		if err := reply.Unpack(buf[:n]); err != nil {
			malformed++
			continue
		}
		if reply.Header.ID != id || !reply.Header.Response || len(reply.Questions) != 1 || reply.Questions[0].Name != qname {
			mismatched++
			continue
		}
		switch reply.Header.RCode {
		case dnsmessage.RCodeSuccess:
		case dnsmessage.RCodeNameError:
			return nil, fmt.Errorf("%s: no such name", name)
		default:
			return nil, fmt.Errorf("%s: resolver answered %v", name, reply.Header.RCode)
		}
		if reply.Header.Truncated && len(reply.Answers) == 0 {
			return nil, errors.New(name + ": answer truncated")
		}
		return reply.Answers, nil
	}
}

// DiscoveryStatus describes a pool's discovery for the console.
type DiscoveryStatus struct {
	Name      string
	Resolves  int
	Failures  int
	LastError string
	LastOK    time.Time
	Next      time.Time
}

// Discovery returns the pool's discovery status, or nil.
func (p *Pool) Discovery() *DiscoveryStatus {
	d := p.dns
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	name := p.cfg.Discovery.DNS
	if name == "" {
		name = "SRV " + p.cfg.Discovery.SRV
	}
	return &DiscoveryStatus{Name: name, Resolves: d.resolves, Failures: d.failures, LastError: d.lastErr, LastOK: d.lastOK, Next: d.nextCheck}
}
