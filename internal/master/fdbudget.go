package master

import (
	"fmt"
	"os"
	"syscall"
)

// File descriptors are a budget. At start the soft RLIMIT_NOFILE is
// raised to the hard limit; what is open then, and a reserve for the
// queue manager's deliveries (a queue file and a connection or mailbox
// each, a directory to fsync) and for short-lived needs (DNS sockets,
// lookup tables), are set aside; the rest, at fdsPerSession each, is how
// many SMTP sessions may run at once. Past it the accept loops stop
// accepting, so a connection flood waits in the listen backlog and can
// never take the descriptor a queue file write needs.
const (
	fdsPerSession   = 2 // the connection, and the queue file being written
	fdsPerDelivery  = 3
	fdReserveFixed  = 32
	maxSessionsByFD = 1 << 20
)

// fdLimits raises the soft RLIMIT_NOFILE to the hard limit and returns
// the limit in force and how many descriptors are open now (-1 if
// /proc/self/fd cannot be read).
func fdLimits() (limit uint64, open int, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, -1, fmt.Errorf("getrlimit RLIMIT_NOFILE: %w", err)
	}
	if rl.Cur < rl.Max {
		raised := rl
		raised.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			rl = raised
		}
	}
	open = -1
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		open = len(ents) - 1 // the directory being read
	}
	return rl.Cur, open, nil
}

// fdBudget is how many sessions may run at once with limit descriptors,
// open of them in use and deliveries concurrent deliveries; ok is false
// when the limit is too small for the reserve (one session is allowed).
func fdBudget(limit uint64, open, deliveries int) (sessions, reserve int, ok bool) {
	if open < 0 {
		open = fdReserveFixed // unknown: assume as much again
	}
	reserve = fdReserveFixed + fdsPerDelivery*deliveries
	if limit > uint64(maxSessionsByFD*fdsPerSession) {
		return maxSessionsByFD, reserve, true
	}
	free := int(limit) - open - reserve
	if free < fdsPerSession {
		return 1, reserve, false
	}
	return free / fdsPerSession, reserve, true
}
