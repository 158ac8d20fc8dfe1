package smtpd

import (
	"strings"
	"time"
)

// Busy counts the sessions that are busy: all but those waiting for
// their client's next command. The daemon caps them (its file
// descriptor budget: an idle session holds only its connection, a busy
// one may open a queue file or DNS sockets besides), so that thousands
// of idle sessions can be held while those at work never run out.
// Begin waits for room until deadline and reports whether it got it;
// every Begin that did is followed by one End.
type Busy interface {
	Begin(deadline time.Time) bool
	End()
}

// setBusy marks the session busy or idle in Conn.Busy. A session is
// busy from its start, idle while it waits for a command (run), and
// ends idle. Becoming busy waits at most smtpd_timeout for room: ok
// false means none came, and the session is still idle.
func (ss *session) setBusy(busy bool) (ok bool) {
	if ss.info.Busy == nil || ss.busy == busy {
		return true
	}
	if busy {
		if !ss.info.Busy.Begin(time.Now().Add(ss.cfg.Timeout)) {
			return false
		}
		ss.deadline() // the wait may have used up the reply's
	} else {
		ss.info.Busy.End()
	}
	ss.busy = busy
	return true
}

// idle marks the session idle as it waits for its client's next
// command, unless a BDAT transaction holds a file open (holdsFile): that
// session stays busy until the transaction ends.
func (ss *session) idle() {
	ss.setBusy(ss.tx != nil && ss.tx.bdat != nil && ss.tx.bdat.holdsFile())
}

// tooBusy ends a session that waited smtpd_timeout for a busy slot
// (setBusy), with the reply of Postfix's postscreen when no smtpd
// process is free.
//
//go:noinline
func (ss *session) tooBusy(line string) {
	ss.deadline()
	ss.reply("421 4.3.2 All server ports are busy")
	ss.w.Flush()
	verb, _, _ := strings.Cut(line, " ")
	ss.logWarn("no busy session slot free within smtpd_timeout (the file descriptor budget): disconnect after %s from %s", strings.ToUpper(verb), ss.req.Client())
}
