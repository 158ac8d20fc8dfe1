package pipelining

import (
	"net"
	"syscall"
)

// Pending copies into buf bytes that have arrived on c but were not
// read yet, without consuming them (MSG_PEEK), and returns how many: 0
// when nothing is waiting. It never blocks. Connections that are not
// sockets (net.Pipe in tests) have nothing pending as far as it can tell.
func Pending(c net.Conn, buf []byte) int {
	sc, ok := c.(syscall.Conn)
	if !ok || len(buf) == 0 {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	cerr := rc.Control(func(fd uintptr) {
		for {
			m, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err == syscall.EINTR {
				continue
			}
			if err == nil && m > 0 {
				n = m
			}
			return
		}
	})
	if cerr != nil {
		return 0
	}
	return n
}

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
