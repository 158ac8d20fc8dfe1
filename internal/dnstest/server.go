// Package dnstest runs a small authoritative DNS server on loopback for
// tests, as net/http/httptest does for HTTP: a Zone written in Go (A,
// AAAA, MX — null MX included —, TXT, PTR, CNAME), NXDOMAIN for names
// outside it, and pseudo-records that make a name SERVFAIL or time out.
// Server.Resolver returns a *net.Resolver that sends every query to the
// server, to hand to the code under test:
//
//	dns := dnstest.Start(t, dnstest.Zone{
//		"example.org":  {dnstest.MX(10, "mx.example.org")},
//		"null.example": {dnstest.NullMX()},
//		"192.0.2.7":    {dnstest.PTR("mail.example.org")},
//		"down.example": {dnstest.ServFail()},
//	})
//	mx, err := dns.Resolver().LookupMX(ctx, "example.org")
//
// The server speaks UDP and TCP on the same random 127.0.0.1 port;
// answers too large for the client's UDP buffer come back truncated, so
// clients retry over TCP as they would in production. It uses the
// standard library only.
//
// The Go resolver still reads the system's /etc/hosts (before DNS, for
// host and reverse lookups) and the options of /etc/resolv.conf
// (attempts, search list for names without a trailing dot); use names
// under reserved test domains and loopback addresses other than
// 127.0.0.1 to stay clear of /etc/hosts.
package dnstest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Query is one question the server received.
type Query struct {
	Name    string // as asked, without the trailing dot
	Type    Type
	Network string // "udp" or "tcp"
}

// Server is a running test DNS server. Its methods are safe for
// concurrent use.
type Server struct {
	// QueryTimeout bounds each exchange of the resolvers that Resolver
	// returns, so that a Timeout record costs a test little time
	// (the Go resolver tries each query attempts × servers times, per
	// /etc/resolv.conf). Zero means one second. Set it before calling
	// Resolver.
	QueryTimeout time.Duration

	addr string
	udp  net.PacketConn
	tcp  net.Listener
	wg   sync.WaitGroup

	mu      sync.Mutex
	zone    map[string][]Record
	queries []Query
	conns   map[net.Conn]bool
	closed  bool
}

// New starts a server for zone on 127.0.0.1; Close stops it.
func New(zone Zone) (*Server, error) {
	s := &Server{zone: map[string][]Record{}, conns: map[net.Conn]bool{}}
	for name, recs := range zone {
		if err := s.Set(name, recs...); err != nil {
			return nil, err
		}
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	return s, nil
}

// Start is New for a test: it fails the test on error and closes the
// server when the test ends.
func Start(t testing.TB, zone Zone) *Server {
	t.Helper()
	s, err := New(zone)
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// listen binds UDP and TCP on one port, retrying if another process took
// the TCP side of the port first.
func (s *Server) listen() error {
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("dnstest: listen udp: %w", err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			pc.Close()
			lastErr = err
			continue
		}
		s.udp, s.tcp, s.addr = pc, ln, pc.LocalAddr().String()
		return nil
	}
	return fmt.Errorf("dnstest: no free port for both udp and tcp: %w", lastErr)
}

// Addr is the server's address, "127.0.0.1:port" (UDP and TCP).
func (s *Server) Addr() string { return s.addr }

// Set replaces the records of name (see Zone for the name forms); no
// records leave the name existing but empty (NODATA for every type).
func (s *Server) Set(name string, recs ...Record) error {
	for _, r := range recs {
		if err := r.validate(); err != nil {
			return fmt.Errorf("dnstest: %s %s: %w", name, r.Type, err)
		}
	}
	key := canonical(name)
	if _, err := encodeName(nil, key); err != nil {
		return fmt.Errorf("dnstest: name %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.zone[key] = append([]Record(nil), recs...)
	return nil
}

// Delete removes name from the zone: it gets NXDOMAIN from now on.
func (s *Server) Delete(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.zone, canonical(name))
}

// Queries returns the questions received so far, oldest first.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.queries...)
}

// Resolver returns a pure-Go resolver that sends every query to this
// server, over UDP or TCP as the resolver chooses.
func (s *Server) Resolver() *net.Resolver {
	limit := s.QueryTimeout
	if limit <= 0 {
		limit = time.Second
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		switch network {
		case "udp", "udp4", "udp6":
			c, err := d.DialContext(ctx, "udp4", s.addr)
			if err != nil {
				return nil, err
			}
			return &udpConn{c.(*net.UDPConn), limit}, nil
		case "tcp", "tcp4", "tcp6":
			c, err := d.DialContext(ctx, "tcp4", s.addr)
			if err != nil {
				return nil, err
			}
			return &tcpConn{c.(*net.TCPConn), limit}, nil
		}
		return nil, fmt.Errorf("dnstest: cannot dial network %q", network)
	}}
}

// udpConn and tcpConn cap the deadline the resolver sets. The UDP one
// must stay a net.PacketConn: the resolver frames messages by that test.
type udpConn struct {
	*net.UDPConn
	limit time.Duration
}

func (c *udpConn) SetDeadline(t time.Time) error { return c.UDPConn.SetDeadline(capped(t, c.limit)) }

type tcpConn struct {
	*net.TCPConn
	limit time.Duration
}

func (c *tcpConn) SetDeadline(t time.Time) error { return c.TCPConn.SetDeadline(capped(t, c.limit)) }

func capped(t time.Time, limit time.Duration) time.Time {
	if max := time.Now().Add(limit); t.IsZero() || t.After(max) {
		return max
	}
	return t
}

// Close stops the server and waits for its goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := errors.Join(s.udp.Close(), s.tcp.Close())
	s.wg.Wait()
	return err
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		if reply := s.handle(buf[:n], "udp"); reply != nil {
			s.udp.WriteTo(reply, from)
		}
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serveConn(c)
	}
}

// serveConn answers length-prefixed queries (RFC 1035 section 4.2.2)
// until the client closes the connection or goes quiet.
func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	var size [2]byte
	for {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		reply := s.handle(msg, "tcp")
		if reply == nil {
			continue // a Timeout record: say nothing
		}
		if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(reply)))); err != nil {
			return
		}
		if _, err := c.Write(reply); err != nil {
			return
		}
	}
}

// handle answers one query message; nil means no reply at all.
func (s *Server) handle(msg []byte, network string) []byte {
	req, err := parseRequest(msg)
	if err != nil {
		if len(msg) < headerLen || req.flags&flagQR != 0 {
			return nil // unparsable, or a response: never answer those
		}
		return response(&req, rcodeFormErr, nil)
	}
	s.mu.Lock()
	s.queries = append(s.queries, Query{Name: req.name(), Type: req.qtype, Network: network})
	s.mu.Unlock()
	if req.opcode() != 0 {
		return response(&req, rcodeNotImp, nil)
	}
	if req.qclass != classIN && req.qclass != classANY {
		return response(&req, rcodeRefused, nil)
	}
	rcode, answers, fail := s.lookup(req.name(), req.qtype)
	switch fail {
	case failTimeout:
		return nil
	case failServFail:
		return response(&req, rcodeServFail, nil)
	}
	reply := response(&req, rcode, answers)
	if network == "udp" && len(reply) > req.udpSize {
		return truncated(&req, rcode)
	}
	return reply
}

// maxChain bounds CNAME chains followed inside the zone.
const maxChain = 8

// lookup finds the answer for a question, following CNAMEs in the zone.
func (s *Server) lookup(name string, qtype Type) (rcode int, answers []answer, fail failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner := name
	for range maxChain {
		recs, ok := s.zone[canonical(owner)]
		if !ok {
			return rcodeNXDomain, answers, noFailure
		}
		for _, r := range recs {
			if r.failsFor(qtype) {
				return rcodeServFail, nil, r.fail
			}
		}
		var alias *Record
		for i, r := range recs {
			if r.fail != noFailure {
				continue
			}
			if r.Type == TypeCNAME && qtype != TypeCNAME {
				alias = &recs[i]
			}
			if r.Type == qtype || qtype == TypeANY {
				answers = append(answers, answer{owner, r})
			}
		}
		if alias == nil || qtype == TypeANY {
			return rcodeSuccess, answers, noFailure
		}
		answers = append(answers, answer{owner, *alias})
		owner = alias.target
	}
	return rcodeServFail, nil, failServFail // a CNAME loop
}
