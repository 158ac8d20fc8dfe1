package idlewait

import (
	"net"
	"syscall"
)

// Waiter waits for input on one connection. It is not safe for
// concurrent use; make one per connection.
type Waiter struct {
	rc     syscall.RawConn
	check  func(fd uintptr) bool
	looked bool    // the first look of this wait was made
	one    [1]byte // MSG_PEEK's destination; nothing is kept
}

// New returns a Waiter for c, or nil when c is not a socket that can be
// waited on (see the package doc): the caller then reads as usual.
func New(c net.Conn) *Waiter {
	sc, ok := c.(interface {
		net.Conn
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return nil
	}
	switch sc.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil // a type that may buffer input of its own
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &Waiter{rc: rc}
	w.check = w.readable
	return w
}

// readable is RawConn.Read's callback: true ends the wait. The first
// call looks (the poller only reports input that arrives after the
// wait began); a later one follows a wake-up of the poller, which is
// taken as input without looking again: a rare spurious wake-up only
// means that the read after Wait blocks, as it would have without Wait.
func (w *Waiter) readable(fd uintptr) bool {
	if w.looked {
		return true
	}
	w.looked = true
	for {
		_, _, err := syscall.Recvfrom(int(fd), w.one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		return true // input, end of stream, or an error for the read to report
	}
}

// Wait blocks until the connection has input, has reached its end or
// has an error to report, without consuming anything. It returns the
// error of the wait itself: os.ErrDeadlineExceeded (wrapped) when the
// read deadline passed, net.ErrClosed when the connection was closed.
func (w *Waiter) Wait() error {
	w.looked = false
	return w.rc.Read(w.check)
}
