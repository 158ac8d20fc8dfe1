package smtpd

import (
	"time"

	"github.com/postern-mta/postern/internal/pipelining"
)

// drainLimit bounds the input already received that a hang-up for
// improper pipelining reads and drops, so the close is orderly.
const drainLimit = 64 << 10

// improperPipelining applies Postfix's pipelining rules (see
// internal/pipelining) to a command just read, or to "CONNECT" before the
// greeting: when the client already sent more although it had to wait,
// the first time is logged and remembered for reject_unauth_pipelining;
// with smtpd_forbid_unauth_pipelining the client gets 554 and the
// session ends, which the result reports.
func (ss *session) improperPipelining(verb string) bool {
	if ss.srv.StandAlone || verb != "CONNECT" && !pipelining.MustBeLast(verb, ss.esmtp) {
		return false
	}
	input := ss.rd.Peek(pipelining.MaxLogged)
	if len(input) == 0 && ss.tls != nil {
		input = ss.peekTLS(time.Unix(1, 0)) // records crypto/tls already holds
	}
	if len(input) == 0 {
		if ss.peeker == nil {
			ss.peeker = pipelining.NewPeeker(ss.raw)
		}
		n := ss.peeker.Pending(ss.peekBuf[:]) // one system call, as for one byte
		if n == 0 {
			return false
		}
		input = ss.peekBuf[:n]
		if ss.tls != nil {
			// TLS records: decrypt what they hold (waiting at most
			// smtpd_timeout for the rest of a record), to log it as
			// Postfix does; a record without data (an alert) is no
			// command.
			if input = ss.peekTLS(time.Now().Add(ss.cfg.Timeout)); len(input) == 0 {
				return false
			}
		}
	}
	if !ss.req.Pipelined {
		ss.req.Pipelined = true
		ss.log("improper command pipelining after %s from %s: %s", verb, ss.req.Client(), pipelining.Escape(input))
	}
	if !ss.cfg.ForbidUnauthPipelining {
		return false
	}
	ss.reply(pipelining.Reply)
	ss.w.Flush()
	ss.rd.Discard()
	pipelining.Drain(ss.raw, drainLimit)
	ss.quit = true
	return true
}

// peekTLS reads the TLS connection once with the read deadline dl (one
// already past: only what crypto/tls has buffered) and returns the
// plaintext it gave, which stays buffered for the next command.
func (ss *session) peekTLS(dl time.Time) []byte {
	ss.cr.probing = true
	ss.conn.SetReadDeadline(dl)
	ss.rd.Fill()
	ss.cr.probing = false
	ss.deadline()
	return ss.rd.Peek(pipelining.MaxLogged)
}
