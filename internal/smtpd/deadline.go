package smtpd

import (
	"net"
	"time"

	"github.com/postern-mta/postern/internal/idlewait"
)

// connReader is what a session reads from: the connection, with
// Postfix's read time limits.
//
// With smtpd_per_request_deadline = yes (postern's default) a command
// line must arrive whole within smtpd_timeout, and DATA or BDAT content
// runs on a budget: it starts at smtpd_timeout, every read spends the
// time it took and earns N/smtpd_min_data_rate seconds for its N bytes,
// and the budget never exceeds smtpd_timeout (postconf(5),
// smtpd_min_data_rate). A client that keeps sending at the minimal
// rate or faster is never cut, however large the message; one that
// trickles runs out. With "no", every read gets smtpd_timeout afresh
// (Postfix's time limit per read system call).
type connReader struct {
	conn      net.Conn
	timeout   time.Duration
	perReq    bool
	rate      int64 // bytes per second
	content   bool
	deadline  time.Time
	received  int64 // content bytes received since startContent
	now       func() time.Time
	setReadDL func(time.Time) error
	// probing: the caller set the read deadline itself (peekTLS); Read
	// leaves it alone.
	probing bool
	// idle waits for the next command without a buffer (WaitIdle);
	// nil on a connection that cannot be waited on so (TLS).
	idle *idlewait.Waiter
}

func newConnReader(c net.Conn, cfg *Config) *connReader {
	return &connReader{conn: c, timeout: cfg.Timeout, perReq: cfg.PerRequestDeadline,
		rate: max(cfg.MinDataRate, 1), now: time.Now, setReadDL: c.SetReadDeadline}
}

// startContent begins DATA or BDAT content; buffered bytes were read
// already (pipelined behind the command) and count as received.
func (r *connReader) startContent(buffered int) {
	r.content, r.received = true, int64(buffered)
	r.deadline = r.now().Add(r.timeout)
	r.setReadDL(r.deadline)
}

// endContent returns to command reading; the session sets the next
// command's deadline itself.
func (r *connReader) endContent() { r.content = false }

// WaitIdle waits for input without a buffer, under the time limit a
// read would have (smtpio.Idler).
func (r *connReader) WaitIdle() error {
	if !r.perReq && !r.probing {
		r.setReadDL(r.now().Add(r.timeout))
	}
	return r.idle.Wait()
}

func (r *connReader) Read(p []byte) (int, error) {
	if !r.perReq && !r.probing {
		r.setReadDL(r.now().Add(r.timeout))
	}
	n, err := r.conn.Read(p)
	if r.content && n > 0 {
		r.received += int64(n)
		if r.perReq {
			// The deadline is absolute: the read's own time is already
			// spent. Add what the bytes earned, up to smtpd_timeout.
			d := r.deadline.Add(time.Duration(n) * time.Second / time.Duration(r.rate))
			if limit := r.now().Add(r.timeout); d.After(limit) {
				d = limit
			}
			r.deadline = d
			r.setReadDL(d)
		}
	}
	return n, err
}
