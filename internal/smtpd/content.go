package smtpd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/straycrlf"
)

// stages are the content stages of the session's current message, in
// Postfix's order: the checks (Authentication-Results), the session's
// milters (smtpd_milters), DKIM signing. None: the content streams to
// the queue and nothing is held.
func (ss *session) stages() []cleanup.Stage {
	var st []cleanup.Stage
	var hr cleanup.Stage
	if ss.srv.HeaderRewrite != nil {
		hr = ss.srv.HeaderRewrite.For(ss.origin())
	}
	for _, s := range []cleanup.Stage{hr, ss.srv.Checks, ss.milterStage(), ss.srv.Sign} {
		if s != nil {
			st = append(st, s)
		}
	}
	return st
}

// hold makes m a held message: its content goes to a cleanup.Spool
// (Server.SpoolDir) and, at the end, through the stages to the queue.
// Nothing was written to m yet but its Received: header.
func (m *message) hold(stages []cleanup.Stage, dir string) {
	h := &heldContent{spool: cleanup.NewSpool(dir), stages: stages}
	h.sink = h.spool
	if m.stray {
		h.stw = straycrlf.NewWriter(h.spool)
		h.sink = h.stw
	}
	m.held = h
	_, m.err = h.sink.Write(*m.buf)
	m.release() // the spool keeps the content
}

// heldContent is a held message's spool and stages; sink writes to the
// spool, through a straycrlf.Writer with cleanup_replace_stray_cr_lf.
type heldContent struct {
	spool  *cleanup.Spool
	sink   io.Writer
	stw    *straycrlf.Writer
	stages []cleanup.Stage
}

// finishHeld ends a held message: the stages run and what is left is
// queued (cleanup.Run). The spool is released on every path.
func (m *message) finishHeld(ctx context.Context, origin cleanup.Origin) (string, cleanup.Verdict, error) {
	m.store(m.drop.flush(nil)) // a header line without its line end
	h := m.held
	if m.err == nil && h.stw != nil {
		m.err = h.stw.Flush()
	}
	sp := h.spool
	m.held = nil
	if m.err != nil {
		sp.Close()
		return "", cleanup.Verdict{}, m.err
	}
	cm, err := cleanup.NewMessage(m.env, origin, sp)
	if err != nil {
		return "", cleanup.Verdict{}, err
	}
	defer cm.Close()
	return cleanup.Run(ctx, m.q, cm, h.stages)
}

// origin tells the stages where the message comes from.
func (ss *session) origin() cleanup.Origin {
	o := cleanup.Origin{ClientAddr: ss.req.ClientAddr, ClientName: ss.req.ClientName,
		ReverseName: ss.req.ReverseName, Helo: ss.req.Helo, TLS: ss.tls != nil, Service: ss.info.Service,
		MyNetworks: ss.srv.Policy.MyNetworks(ss.req.ClientAddr, ss.req.ClientName)}
	if ss.auth != nil {
		o.SASLUser, o.SASLMethod = ss.auth.user, ss.auth.method
	}
	return o
}

// contentVerdict answers a message the stages refused or held, and logs
// it as Postfix's cleanup logs a milter's verdict:
//
//	ID: milter-reject: END-OF-MESSAGE from host[addr]: 5.7.1 text; from=<s> to=<r> proto=ESMTP helo=<h>
//
// with the verdict's source word for other stages (dmarc-reject). It
// reports whether it replied (Reject, Discard): a held message is
// answered as a queued one.
func (ss *session) contentVerdict(m *message, v cleanup.Verdict, size int64) bool {
	word := v.Word()
	var action, text string
	switch {
	case v.Action == cleanup.Reject && v.Reply == cleanup.NoRecipients && len(m.env.Recipients) == 0:
		// Postfix's cleanup counts recipients before its milters run: a
		// message whose recipients a milter all deleted is queued, the
		// client hears 250, and the queue manager removes it (nrcpt=0).
		// Nothing is queued here; the client hears the same.
		if ss.srv.Log != nil {
			log := ss.srv.Log.With("program", "postern/cleanup")
			log.Info(fmt.Sprintf("%s: from=<%s>, nrcpt=0: every recipient was deleted by a content stage (milter); not queued", ss.queueID(), m.env.Sender))
			log.Info(fmt.Sprintf("%s: removed", ss.queueID()))
		}
		ss.queued(ss.queueID(), size)
		return true
	case v.Action == cleanup.Reject:
		lines := v.ReplyLines()
		action, text = word+"-reject", lines[0][4:]
		ss.logContent(m, action, text)
		ss.reply(lines...)
		ss.errors++
		if strings.HasPrefix(lines[0], "421") {
			ss.quit = true // as Postfix's smtpd_chat_reply: 421 hangs up
			return true
		}
		ss.checkErrors()
		return true
	case v.Action == cleanup.Discard:
		action, text = word+"-discard", word+" triggers DISCARD action"
	case v.Action == cleanup.Hold:
		action, text = word+"-hold", word+" triggers HOLD action"
	default:
		return false
	}
	if !v.Logged {
		ss.logContent(m, action, text)
	}
	if v.Action == cleanup.Discard {
		ss.queued(ss.queueID(), size)
		return true
	}
	return false
}

func (ss *session) logContent(m *message, action, text string) {
	if ss.srv.Log == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: END-OF-MESSAGE from %s: %s; from=<%s>", ss.queueID(), action, ss.req.Client(), text, m.env.Sender)
	if len(m.env.Recipients) > 0 {
		fmt.Fprintf(&b, " to=<%s>", m.env.Recipients[0].Addr)
	}
	fmt.Fprintf(&b, " proto=%s", m.env.Protocol)
	if ss.req.Helo != "" {
		fmt.Fprintf(&b, " helo=<%s>", ss.req.Helo)
	}
	ss.srv.Log.With("program", "postern/cleanup").Info(b.String())
}
