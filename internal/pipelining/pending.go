package pipelining

import (
	"net"
	"syscall"
)

// Peeker looks at what has arrived on a connection without taking it.
// Make one per connection: a check then costs one system call and no
// allocation. It is not safe for concurrent use.
type Peeker struct {
	rc   syscall.RawConn // nil: not a socket (net.Pipe in tests)
	peek func(fd uintptr)
	buf  []byte
	n    int
}

// NewPeeker returns a Peeker for c.
func NewPeeker(c net.Conn) *Peeker {
	p := &Peeker{}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			p.rc = rc
		}
	}
	p.peek = p.recv
	return p
}

func (p *Peeker) recv(fd uintptr) {
	for {
		m, _, err := syscall.Recvfrom(int(fd), p.buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if err == syscall.EINTR {
			continue
		}
		if err == nil && m > 0 {
			p.n = m
		}
		return
	}
}

// Pending copies into buf bytes that have arrived but were not read yet,
// without consuming them (MSG_PEEK), and returns how many: 0 when
// nothing is waiting. It never blocks. A connection that is not a socket
// has nothing pending as far as it can tell.
func (p *Peeker) Pending(buf []byte) int {
	if p.rc == nil || len(buf) == 0 {
		return 0
	}
	p.buf, p.n = buf, 0
	err := p.rc.Control(p.peek)
	p.buf = nil
	if err != nil {
		return 0
	}
	return p.n
}

// Pending is NewPeeker(c).Pending(buf), for a single look.
func Pending(c net.Conn, buf []byte) int { return NewPeeker(c).Pending(buf) }

// Drain reads and drops what has already arrived on c, at most max
// bytes, without waiting. Closing a socket with unread input makes the
// kernel send a reset, which can destroy the reply written just before
// (the client's read fails instead of returning it); after Drain the
// close is an orderly end of stream, as when Postfix hangs up on input
// it had already read.
func Drain(c net.Conn, max int) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, min(max, 4096))
	rc.Control(func(fd uintptr) {
		for max > 0 {
			m, _, err := syscall.Recvfrom(int(fd), buf[:min(max, len(buf))], syscall.MSG_DONTWAIT)
			if err == syscall.EINTR {
				continue
			}
			if err != nil || m <= 0 {
				return
			}
			max -= m
		}
	})
}
