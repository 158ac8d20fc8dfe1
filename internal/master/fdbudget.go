package master

import (
	"fmt"
	"os"
	"syscall"

	"github.com/postern-mta/postern/internal/deliver/local"
	"github.com/postern-mta/postern/internal/deliver/smtp"
	"github.com/postern-mta/postern/internal/deliver/virtual"
)

// File descriptors are a budget. At start the soft RLIMIT_NOFILE is
// raised to the hard limit; what is open then and a reserve for every
// other consumer are set aside, and the rest goes to SMTP sessions: each
// holds its connection (fdsPerSession) and, with smtpd_milters, one
// connection per milter for its whole life, and a busy one, one that is not
// waiting for its client's next command, may open fdsPerBusy more (the
// queue file being written, or the sockets of a parallel A and AAAA
// lookup). An idle session opens nothing, so the budget caps sessions
// and busy sessions apart: busyShare of the free descriptors back busy
// sessions' extra ones, the rest sessions' connections. Past the session
// cap the accept loops stop accepting, so a connection flood waits in
// the listen backlog and can never take the descriptor a queue file
// write needs; past the busy cap a session whose client sent a command
// waits for another to finish one (smtpd.Busy). With D =
// default_process_limit (the queue manager's deliveries at once):
//
//	reserve  = fdReserveFixed                      logs, DNS of the daemon, lookup tables
//	         + fdsBackground                       qmgr's scans and fsyncs, pickup, bounce logs
//	         + D × (1 + max(smtp.FDsPerDelivery,   per delivery: the queue file, and the
//	                        local.FDsPerDelivery,     agent's connection, DNS sockets or mailbox
//	                        virtual.FDsPerDelivery))
//	         + 2 × cacheMaxIdle(D)                 the smtp and lmtp clients' idle cached connections
//	free     = RLIMIT_NOFILE − open at start − reserve
//	busy     = free / busyShare / fdsPerBusy
//	sessions = (free − busy × fdsPerBusy) / (fdsPerSession + M)
//
// where M is the most smtpd_milters of an smtpd service (its -o
// override, else main.cf's). A reload computes sessions and busy again
// for its services' M (Daemon.setBudget); the limit and what was open
// at start stay those of the start.
//
// With a hard limit of 20,000 and D = 100 that is 12,765 sessions, 3,191
// of them busy at once (before 2026-12: 3 descriptors for every session,
// 6,382 sessions); with systemd's usual hard limit of 524,288, about
// 349,000 and 87,000.
//
// The smtp and lmtp clients' caches are each capped at cacheMaxIdle(D)
// (smtpAgent, lmtpAgent), so that their idle connections, held outside
// any delivery slot, stay within the reserve: min(smtp.DefaultCacheMaxIdle, D), as more idle
// connections than deliveries at once would rarely be reused.
const (
	// fdsPerSession: the connection (and one per milter, fdBudget's
	// milters).
	fdsPerSession = 1
	// fdsPerBusy: what a busy session may open besides: the queue file
	// being written (a BDAT transaction that holds one stays busy
	// between its chunks) or, before DATA, the sockets of a parallel A
	// and AAAA lookup.
	fdsPerBusy = 2
	// busyShare: busy sessions' extra descriptors get 1/busyShare of
	// the free ones.
	busyShare       = 3
	fdsPerDelivery  = 1 + max(smtp.FDsPerDelivery, local.FDsPerDelivery, virtual.FDsPerDelivery)
	fdsBackground   = 8
	fdReserveFixed  = 32
	maxSessionsByFD = 1 << 20
)

// cacheMaxIdle is the smtp client's connection cache size with
// deliveries at once (see the formula above).
func cacheMaxIdle(deliveries int) int {
	return max(1, min(smtp.DefaultCacheMaxIdle, deliveries))
}

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

// fdReserve is the reserve of the formula above.
func fdReserve(deliveries int) int {
	return fdReserveFixed + fdsBackground + fdsPerDelivery*deliveries + 2*cacheMaxIdle(deliveries)
}

// fdBudget is how many sessions may run at once with limit descriptors,
// open of them in use, deliveries concurrent deliveries and milters
// connections to milters per session, and how many of them may be busy
// at once, at least max(1, sessions/4); ok is false when the limit is
// too small for the reserve (one session is allowed, and busy).
func fdBudget(limit uint64, open, deliveries, milters int) (sessions, busy, reserve int, ok bool) {
	perSession := fdsPerSession + milters
	if open < 0 {
		open = fdReserveFixed // unknown: assume as much again
	}
	reserve = fdReserve(deliveries)
	if limit > uint64(maxSessionsByFD*(perSession+fdsPerBusy)) {
		return maxSessionsByFD, maxSessionsByFD, reserve, true
	}
	free := int(limit) - open - reserve
	if free < perSession+fdsPerBusy {
		return 1, 1, reserve, false
	}
	busy = max(1, free/busyShare/fdsPerBusy)
	sessions = (free - busy*fdsPerBusy) / perSession
	// At least a quarter of the sessions may be busy (busyShare's share
	// rounded down may leave fewer with little room), so that a few
	// clients holding busy slots stall the others' commands the less.
	for busy < sessions/4 {
		busy++
		sessions = (free - busy*fdsPerBusy) / perSession
	}
	return sessions, busy, reserve, true
}

// SessionBudget is how many SMTP sessions a daemon started now, by this
// process's limits, could run at once with deliveries at once and
// milters per session, and the hard RLIMIT_NOFILE
// (check.Options.SessionBudget, for postern check). What is open in a
// daemon at start is assumed (fdReserveFixed).
func SessionBudget(deliveries, milters int) (sessions int, limit uint64) {
	limit, _, err := fdLimits()
	if err != nil {
		return maxSessionsByFD, 0
	}
	sessions, _, _, _ = fdBudget(limit, -1, deliveries, milters)
	return sessions, limit
}
