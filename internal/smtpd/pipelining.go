package smtpd

import "github.com/postern-mta/postern/internal/pipelining"

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
			// Encrypted: the socket holds TLS records, not commands.
			input = []byte("(TLS record)")
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
