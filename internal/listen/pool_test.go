package listen

import (
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
)

func freePort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

func sock(addr string, port uint16) Socket {
	return Socket{Service: "smtp", Addr: netip.AddrPortFrom(netip.MustParseAddr(addr), port)}
}

// A reload keeps unchanged sockets: the very same listener is handed back
// and only the new one is opened; Retain closes the removed one.
func TestPoolReusesUnchangedSockets(t *testing.T) {
	p := NewPool()
	defer p.Close()
	port := freePort(t)
	a, b := sock("127.0.0.1", port), sock("127.0.0.2", port)
	opened, err := p.Open([]Socket{a}, Options{})
	if err != nil || len(opened) != 1 {
		t.Fatalf("open: %v %v", opened, err)
	}
	first := opened[a.Key()]
	opened, err = p.Open([]Socket{a, b}, Options{})
	if err != nil || len(opened) != 1 || opened[b.Key()] == nil {
		t.Fatalf("second open: %v %v", opened, err)
	}
	if l, _ := p.Listener(a.Key()); l != first {
		t.Error("unchanged socket was reopened")
	}
	p.Retain([]Socket{b})
	if _, err := net.Dial("tcp4", a.Addr.String()); err == nil {
		t.Error("removed socket still accepts")
	}
	if c, err := net.Dial("tcp4", b.Addr.String()); err != nil {
		t.Errorf("kept socket refuses: %v", err)
	} else {
		c.Close()
	}
}

// Open is all or nothing: when one bind fails, the others it opened are
// closed again and the pool is unchanged.
func TestPoolOpenAllOrNothing(t *testing.T) {
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := uint16(busy.Addr().(*net.TCPAddr).Port)
	p := NewPool()
	defer p.Close()
	ok := sock("127.0.0.2", port)
	_, err = p.Open([]Socket{ok, sock("127.0.0.1", port)}, Options{})
	if err == nil || !strings.Contains(err.Error(), "cannot listen on 127.0.0.1:") {
		t.Fatalf("error %v", err)
	}
	if _, open := p.Listener(ok.Key()); open {
		t.Error("half-opened socket kept in the pool")
	}
	if c, err := net.Dial("tcp4", ok.Addr.String()); err == nil {
		c.Close()
		t.Error("half-opened socket still listening")
	}
}

// IPv4 and IPv6 wildcards are separate sockets (IPV6_V6ONLY), as in Postfix.
func TestPoolWildcardsAreSeparate(t *testing.T) {
	p := NewPool()
	defer p.Close()
	port := freePort(t)
	if _, err := p.Open([]Socket{sock("0.0.0.0", port), sock("::", port)}, Options{}); err != nil {
		t.Fatal(err)
	}
}

// Accepted connections get no TCP keep-alive (Postfix's smtpd sets none).
func TestPoolNoKeepAlive(t *testing.T) {
	p := NewPool()
	defer p.Close()
	s := sock("127.0.0.1", freePort(t))
	opened, err := p.Open([]Socket{s}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp4", s.Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn, err := opened[s.Key()].Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var on int
	var serr error
	raw.Control(func(fd uintptr) { on, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) })
	if serr != nil || on != 0 {
		t.Errorf("SO_KEEPALIVE %d (%v), want off", on, serr)
	}
}
