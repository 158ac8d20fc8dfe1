package smtpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/smtpio"
)

// dataReady checks what DATA and BDAT need: recipients, and the
// smtpd_data_restrictions list.
func (ss *session) dataReady(ctx context.Context, cmd string) bool {
	switch {
	case ss.tx == nil:
		ss.fail("503 5.5.1 Error: need RCPT command")
		return false
	case len(ss.tx.env.Recipients) == 0 && ss.tx.rejected > 0:
		ss.fail("554 5.5.1 Error: no valid recipients")
		return false
	case len(ss.tx.env.Recipients) == 0:
		ss.fail("503 5.5.1 Error: need RCPT command")
		return false
	}
	// ss.req.Pipelined, which reject_unauth_pipelining tests, was set by
	// improperPipelining at the first violation of the session.
	v := ss.srv.Policy.Check(ctx, "smtpd_data_restrictions", policy.Data, &ss.req)
	if v.Kind == policy.Reject {
		ss.reject(cmd, v)
		return false
	}
	ss.tx.prepend = append(ss.tx.prepend, v.Prepend...)
	ss.logHold(cmd, v)
	ss.tx.env.Hold = ss.tx.env.Hold || v.Hold != ""
	if ss.milters != nil {
		if r := ss.milterReply(cmd, ss.milters.Data(ctx), &ss.tx.milterHold, &ss.tx.milterDiscard); r != "" {
			ss.milterFail(r)
			return false
		}
	}
	return true
}

func (ss *session) cmdData(ctx context.Context, arg string) {
	if strings.TrimSpace(arg) != "" {
		ss.fail("501 5.5.4 Syntax: DATA")
		return
	}
	if !ss.dataReady(ctx, "DATA") {
		return
	}
	ss.reply("354 End data with <CR><LF>.<CR><LF>")
	ss.w.Flush()
	m := ss.startMessage(ctx)
	limit := ss.cfg.MessageSizeLimit
	if limit <= 0 {
		limit = -1 // message_size_limit = 0: no limit
	}
	ss.where = afterData
	ss.cr.startContent(ss.rd.Buffered())
	n, err := ss.rd.ReadData(m, limit)
	ss.cr.endContent()
	ss.tx.size = n // the policy service's size at END-OF-MESSAGE, as Postfix's act_size
	ss.deadline()  // for the reply
	if err == nil || !isConnErr(err) {
		ss.where = afterDot
	}
	ss.finish(ctx, m, err)
}

// startMessage starts the message with Postfix's Received: header.
func (ss *session) startMessage(ctx context.Context) *message {
	env := &ss.tx.env
	env.ClientAddr, env.ClientName, env.Helo = ss.req.ClientAddr.String(), ss.req.ClientName, ss.req.Helo
	// PREPEND actions' headers go above our Received:, as Postfix's.
	var hdr strings.Builder
	for _, h := range ss.tx.prepend {
		hdr.WriteString(h + "\r\n")
	}
	hdr.WriteString(ss.received())
	m := startMessage(ctx, ss.srv.Queue, env, hdr.String(), ss.cfg.ReplaceStrayCRLF)
	if st := ss.stages(); len(st) > 0 {
		m.hold(st, ss.srv.SpoolDir) // content.go
	}
	return m
}

// finish ends a message (DATA, or BDAT LAST): errors from reading decide
// the reply first, then the queue's answer; the transaction is over.
func (ss *session) finish(ctx context.Context, m *message, readErr error) {
	defer func() {
		ss.tx = nil
		ss.req.Sender, ss.req.Recipient, ss.req.RcptAddr = "", "", address.Address{}
		if ss.milters != nil {
			ss.milters.Abort(ctx) // a message that never reached its end of message
		}
	}()
	switch {
	case errors.Is(readErr, smtpio.ErrTooBig):
		m.Abort(readErr)
		ss.fail("552 5.3.4 Error: message file too big")
		return
	case errors.Is(readErr, smtpio.ErrBareLF), errors.Is(readErr, smtpio.ErrBareCR):
		m.Abort(readErr) // the content was read to its end: still in step
		ss.bareNewline()
		return
	case errors.Is(readErr, os.ErrDeadlineExceeded):
		m.Abort(readErr)
		ss.deadline()
		ss.reply(fmt.Sprintf("421 4.4.2 %s Error: timeout exceeded", ss.cfg.Hostname))
		ss.logEnd("timeout")
		ss.quit = true
		return
	case readErr != nil:
		m.Abort(readErr) // connection lost: nothing is queued
		ss.logEnd("lost connection")
		ss.quit = true
		return
	}
	if v := ss.srv.Policy.Check(ctx, "smtpd_end_of_data_restrictions", policy.EndOfData, &ss.req); v.Kind == policy.Reject {
		m.Abort(errAborted)
		ss.reject("END-OF-MESSAGE", v)
		return
	}
	// Postfix's cleanup counts the Received: lines, its smtpd's own too,
	// and refuses a message that reaches hopcount_limit: a mail loop
	// between two MTAs ends here. Nothing is queued.
	if hops := m.id.received + 1; ss.cfg.HopcountLimit > 0 && hops >= ss.cfg.HopcountLimit {
		m.Abort(errAborted)
		ss.fail("554 5.4.0 Error: too many hops")
		return
	}
	if ss.tx.discard {
		m.Abort(errAborted)
		ss.log("discard: the message from %s is discarded by an access table", ss.req.Client())
		ss.reply("250 2.0.0 Ok: queued as DISCARDED")
		return
	}
	// Logged before the queue answers, as Postfix's cleanup logs it while
	// it reads the headers: a direct delivery (qmgr) logs its own lines
	// while Close runs.
	if ss.srv.Log != nil {
		ss.srv.Log.With("program", "postern/cleanup").Info(fmt.Sprintf("%s: message-id=%s", ss.tx.env.ID, m.id.messageID()))
	}
	var id string
	var err error
	var refused interface{ SMTPReply() string }
	if m.held != nil {
		var v cleanup.Verdict
		id, v, err = m.finishHeld(ctx, ss.origin())
		ss.deadline() // the stages and the queue (a direct delivery) may have taken longer than smtpd_timeout
		if err == nil && ss.contentVerdict(m, v, ss.bdatReplySize(m)) {
			return
		}
	} else {
		id, err = m.Close()
		ss.deadline() // the queue (a direct delivery) may have taken longer than smtpd_timeout
	}
	switch {
	case errors.Is(err, queue.ErrNoSpace), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		if !errors.Is(err, queue.ErrNoSpace) || queue.FirstShortage(err) { // once per shortage (see queue.SpaceError)
			ss.logWarn("%s: queue file write error: %v", ss.queueID(), err)
		}
		ss.reject("END-OF-MESSAGE", policy.Verdict{Reply: "452 4.3.1 Insufficient system storage"})
		return
	case errors.As(err, &refused):
		// cleanup's address rewriting could not finish (a table that
		// cannot answer, an alias loop): logged there, deferred here.
		ss.fail(refused.SMTPReply())
		return
	case err != nil:
		ss.logWarn("%s: queue file write error: %v", ss.queueID(), err)
		ss.fail("451 4.3.0 Error: queue file write error")
		return
	}
	ss.queued(id, ss.bdatReplySize(m))
}

// bdatReplySize is the size in Postfix's BDAT LAST reply, which counts
// the content as it stores it: lines and their ends, also one the
// content itself lacks; -1 for DATA.
func (ss *session) bdatReplySize(m *message) int64 {
	if !ss.tx.chunked {
		return -1
	}
	size := ss.tx.bdatSize
	if size > 0 && m.last != '\n' {
		size += 2
	}
	return size
}

// queued answers a message that was queued (or discarded) as id; size
// is bdatReplySize.
func (ss *session) queued(id string, size int64) {
	if size >= 0 {
		ss.reply(fmt.Sprintf("250 2.0.0 Ok: %d bytes queued as %s", size, id))
		return
	}
	ss.reply("250 2.0.0 Ok: queued as " + id)
}

// cmdBdat handles RFC 3030 chunks. The chunk is always consumed exactly,
// even when refused, so its bytes can never be read as commands.
func (ss *session) cmdBdat(ctx context.Context, arg string) {
	f := strings.Fields(arg)
	size, err := int64(0), error(nil)
	if len(f) >= 1 {
		size, err = strconv.ParseInt(f[0], 10, 64)
	}
	last := len(f) == 2 && strings.EqualFold(f[1], "LAST")
	if len(f) == 0 || len(f) > 2 || err != nil || size < 0 || len(f) == 2 && !last {
		ss.abortTx()
		ss.fail("501 5.5.4 Syntax: BDAT count [LAST]")
		// The size is unknown: the connection cannot stay in sync.
		ss.quit = true
		return
	}
	if ss.tx == nil || ss.tx.bdat == nil && !ss.dataReady(ctx, "BDAT") {
		ss.rd.ReadChunk(io.Discard, size, -1, true)
		if ss.tx == nil {
			ss.fail("503 5.5.1 Error: need RCPT command")
		}
		ss.abortTx()
		return
	}
	tx := ss.tx
	if tx.bdat == nil {
		tx.bdat, tx.chunked = ss.startMessage(ctx), true
	}
	limit := max(ss.cfg.MessageSizeLimit-tx.bdatSize, 0)
	if ss.cfg.MessageSizeLimit <= 0 {
		limit = -1
	}
	ss.cr.startContent(ss.rd.Buffered())
	n, err := ss.rd.ReadChunk(tx.bdat, size, limit, last)
	ss.cr.endContent()
	ss.deadline() // for the reply
	if last && (err == nil || !isConnErr(err)) {
		ss.where = afterDot
	}
	tx.bdatSize += n
	if last {
		tx.size = tx.bdatSize // the policy service's size at END-OF-MESSAGE
	}
	if err != nil && !errors.Is(err, smtpio.ErrTooBig) {
		ss.finish(ctx, tx.bdat, err)
		return
	}
	if errors.Is(err, smtpio.ErrTooBig) || ss.cfg.MessageSizeLimit > 0 && tx.bdatSize > ss.cfg.MessageSizeLimit {
		tx.bdatErr = "552 5.3.4 Error: message file too big"
	}
	if !last {
		if tx.bdatErr != "" {
			ss.fail(tx.bdatErr)
			return
		}
		ss.reply(fmt.Sprintf("250 2.0.0 Ok: %d bytes", size))
		return
	}
	m := tx.bdat
	tx.bdat = nil
	if tx.bdatErr != "" {
		ss.finish(ctx, m, smtpio.ErrTooBig)
		return
	}
	ss.finish(ctx, m, nil)
}

// received is Postfix's Received: header for this message.
func (ss *session) received() string {
	env := &ss.tx.env
	var b strings.Builder
	fmt.Fprintf(&b, "Received: from %s (%s [%s])\r\n", ss.req.Helo, ss.req.ClientName, ss.req.ClientAddr)
	b.WriteString(ss.tlsReceived())
	b.WriteString(ss.authReceived())
	fmt.Fprintf(&b, "\tby %s (%s) with %s id %s", ss.cfg.Hostname, ss.cfg.MailName, ss.withProtocol(), env.ID)
	if len(env.Recipients) == 1 {
		fmt.Fprintf(&b, "\r\n\tfor <%s>", env.Recipients[0].Addr)
	}
	fmt.Fprintf(&b, "; %s\r\n", time.Now().Format("Mon, 2 Jan 2006 15:04:05 -0700 (MST)"))
	return b.String()
}

// isConnErr reports a read error that ends the session (timeout, lost
// connection), as opposed to one about the content that was read whole.
func isConnErr(err error) bool {
	return !errors.Is(err, smtpio.ErrTooBig) && !errors.Is(err, smtpio.ErrBareLF) &&
		!errors.Is(err, smtpio.ErrBareCR) && !errors.As(err, new(*smtpio.WriteError))
}
