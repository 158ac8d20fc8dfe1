package smtpd

// Busy counts the sessions that are busy: all but those waiting for
// their client's next command. The daemon caps them (its file
// descriptor budget: an idle session holds only its connection, a busy
// one may open a queue file or DNS sockets besides), so that thousands
// of idle sessions can be held while those at work never run out.
// Begin waits for room; every Begin is followed by one End.
type Busy interface {
	Begin()
	End()
}

// setBusy marks the session busy or idle in Conn.Busy. A session is
// busy from its start, idle while it waits for a command (run), and
// ends idle.
func (ss *session) setBusy(busy bool) {
	if ss.info.Busy == nil || ss.busy == busy {
		return
	}
	ss.busy = busy
	if busy {
		ss.info.Busy.Begin()
	} else {
		ss.info.Busy.End()
	}
}
