package smtp

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/deliver"
)

// Postfix keeps the unacknowledged pipelined commands within one
// VSTREAM buffer so that neither side can block on a full TCP window.
const pipelineBuffer = 4096

// command kinds of a transaction, for timeouts and "in reply to" texts.
type stage int

const (
	stageMail stage = iota
	stageRcpt
	stageData
	stageDot
)

var stageSending = [...]string{
	"sending MAIL FROM", "sending RCPT TO", "sending DATA command",
	"sending end of data -- message may be sent more than once",
}

var stageCommand = [...]string{"MAIL FROM command", "RCPT TO command", "DATA command", "end of DATA command"}

func (a *Agent) stageTimeout(st stage) time.Duration {
	t := a.cfg.Timeouts
	return [...]time.Duration{t.Mail, t.Rcpt, t.DataInit, t.DataDone}[st]
}

// transaction is one MAIL … DATA exchange in progress.
type transaction struct {
	a        *Agent
	ctx      context.Context
	at       *attempt
	s        *session
	final    bool
	rcpts    []int // positions being sent
	queued   []stage
	queuedTo []int // for stageRcpt: index into rcpts
	mailOK   bool
	accepted []int  // positions whose RCPT was accepted
	marked   []bool // by index into rcpts: settled or kept in this session
	dataOK   bool
	err      *failure // the session broke
}

// transfer sends the message to the pending recipients over s (smtp_xfer
// and smtp_loop). It reports whether the session can take another
// message.
func (a *Agent) transfer(ctx context.Context, at *attempt, s *session, final bool) bool {
	rcpts := at.pending()
	req := at.req
	env := req.Env
	if env.SMTPUTF8 && !s.ext.smtputf8 && needsSMTPUTF8(at, rcpts) {
		f := localFailure(s, "5.6.7", "message requires SMTPUTF8, but no server was found that supports SMTPUTF8. The last attempted server was %s", s.srv.namaddr())
		if !final {
			f.dsn = "4.6.7"
		}
		at.fail(rcpts, f, final)
		return true
	}
	if s.ext.size > 0 && s.ext.size < req.Size {
		at.fail(rcpts, localFailure(s, "5.3.4", "message size %d exceeds size limit %d of server %s",
			req.Size, s.ext.size, s.srv.namaddr()), final)
		return true
	}
	tx := &transaction{a: a, ctx: ctx, at: at, s: s, final: final, rcpts: rcpts, marked: make([]bool, len(rcpts))}
	at.setupAt = time.Now()
	if f := tx.envelope(); f != nil {
		tx.failUnmarked(f)
		return false
	}
	if tx.dataOK && len(tx.accepted) > 0 {
		return tx.content()
	}
	if tx.dataOK {
		// DATA accepted though no recipient was: send "." (RFC 2920).
		s.send(".")
		if a.cfg.LMTP {
			// An LMTP server owes one reply per accepted recipient
			// (RFC 2033 4.2): none, so there is nothing to wait for.
			// End the session: a reply it sends anyway must not be
			// taken for the next command's.
			return false
		}
		if _, err := s.read(a.cfg.Timeouts.DataDone); err != nil {
			return false
		}
	}
	// MAIL, every RCPT or DATA refused: end the transaction.
	if r, err := s.command("RSET", a.cfg.Timeouts.Rset); err != nil || r.code/100 != 2 {
		return false
	}
	return true
}

// envelope sends MAIL, the RCPTs and DATA, all in one go when the server
// offers PIPELINING, and processes the replies.
// Without pipelining it stops as smtp_loop's course correction does: no
// RCPT after a refused MAIL, no DATA when every RCPT was refused.
func (tx *transaction) envelope() *failure {
	pipelining := tx.s.ext.pipelining
	tx.send(stageMail, -1, tx.mailCommand())
	for j, i := range tx.rcpts {
		if tx.err != nil || !pipelining && !tx.mailOK {
			return tx.err
		}
		tx.send(stageRcpt, j, tx.rcptCommand(i))
	}
	if tx.err != nil || !pipelining && len(tx.accepted) == 0 {
		return tx.err
	}
	tx.send(stageData, -1, "DATA")
	tx.drain()
	return tx.err
}

// send queues one command; without pipelining, or when the buffer would
// overflow, it collects the outstanding replies.
func (tx *transaction) send(st stage, rcptIndex int, line string) {
	if tx.err != nil {
		return
	}
	if len(tx.queued) > 0 && tx.s.bw.Buffered()+len(line)+2 > pipelineBuffer {
		if tx.drain(); tx.err != nil {
			return
		}
	}
	tx.s.send(line)
	tx.queued = append(tx.queued, st)
	tx.queuedTo = append(tx.queuedTo, rcptIndex)
	if !tx.s.ext.pipelining {
		tx.drain()
	}
}

// drain reads the replies to every queued command; an I/O error is kept
// in tx.err.
func (tx *transaction) drain() {
	for len(tx.queued) > 0 && tx.err == nil {
		st, j := tx.queued[0], tx.queuedTo[0]
		r, err := tx.s.read(tx.a.stageTimeout(st))
		if err != nil {
			tx.err = streamFailure(tx.ctx, tx.s, err, stageSending[st])
			return
		}
		tx.queued, tx.queuedTo = tx.queued[1:], tx.queuedTo[1:]
		tx.handle(st, j, r)
	}
}

// handle processes one reply of the envelope.
func (tx *transaction) handle(st stage, j int, r reply) {
	switch st {
	case stageMail:
		tx.mailOK = r.code/100 == 2
		if !tx.mailOK {
			tx.markAll(said(tx.s, r, stageCommand[st]))
		}
	case stageRcpt:
		if !tx.mailOK {
			return // all recipients are settled already
		}
		if r.code/100 == 2 {
			tx.accepted = append(tx.accepted, tx.rcpts[j])
			return
		}
		tx.marked[j] = true
		f := said(tx.s, r, stageCommand[st])
		if f.soft() && !tx.final {
			tx.a.logf("%s: %s", tx.at.req.ID, f.reason)
		}
		tx.at.fail([]int{tx.rcpts[j]}, f, tx.final)
	case stageData:
		tx.dataOK = r.code/100 == 3
		if !tx.dataOK && len(tx.accepted) > 0 {
			tx.at.fail(tx.accepted, said(tx.s, r, stageCommand[st]), tx.final)
			tx.markAccepted()
		}
	}
}

// content sends the message and reads the end-of-data reply.
func (tx *transaction) content() bool {
	a, s, at := tx.a, tx.s, tx.at
	rc, err := at.req.Content()
	if err != nil {
		err = &contentError{err}
	} else {
		s.w.setTimeout(a.cfg.Timeouts.DataXfer)
		dw := &dotWriter{w: s.bw, limit: a.cfg.LineLimit}
		if at.req.Env.EightBit && !s.ext.eightBit {
			// 8-bit mail to a server without 8BITMIME: quoted-printable,
			// as Postfix converts it (disable_mime_output_conversion = no).
			dg := newDowngrader(dw)
			if err = copyContent(dg, rc); err == nil {
				err = dg.Close()
			}
		} else {
			err = copyContent(dw, rc)
		}
		rc.Close()
		if err == nil {
			dw.close()
			if err = dw.err; err == nil {
				err = s.bw.Flush()
			}
		}
	}
	var ce *contentError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		// Never end the data with "." after a local read error: that
		// would deliver a truncated message. Drop the connection.
		a.logf("warning: %s: %v", at.req.ID, err)
		s.broken = true
		tx.failUnmarked(localFailure(s, "4.3.0", "local data error while talking to %s", s.srv.namaddr()))
		return false
	default:
		s.broken = true
		tx.failUnmarked(streamFailure(tx.ctx, s, err, "sending message body"))
		return false
	}
	if a.cfg.LMTP {
		return tx.lmtpReplies()
	}
	r, err := s.read(a.cfg.Timeouts.DataDone)
	if err != nil {
		tx.failUnmarked(streamFailure(tx.ctx, s, err, stageSending[stageDot]))
		return false
	}
	if r.code/100 != 2 {
		at.fail(tx.accepted, said(s, r, stageCommand[stageDot]), tx.final)
		return true
	}
	for _, i := range tx.accepted {
		at.finish(i, deliver.Result{Kind: deliver.Sent, DSN: r.dsn, Reason: r.text, Relay: s.srv.namaddrport(),
			Action: "relayed", Diagnostic: "smtp; " + r.text, RemoteMTA: "dns; " + s.srv.host, ConnUse: s.connUse()})
	}
	return true
}

// lmtpReplies reads one reply per accepted recipient, in RCPT order,
// after the end of data (RFC 2033 4.2), and settles each recipient by its
// own: 2xx delivered, 4xx deferred, 5xx bounced.
func (tx *transaction) lmtpReplies() bool {
	a, s, at := tx.a, tx.s, tx.at
	for n, i := range tx.accepted {
		r, err := s.read(a.cfg.Timeouts.DataDone)
		if err != nil {
			f := streamFailure(tx.ctx, s, err, stageSending[stageDot])
			if f.soft() && !tx.final {
				a.logf("%s: %s", at.req.ID, f.reason)
			}
			at.fail(tx.accepted[n:], f, tx.final)
			return false
		}
		if r.code/100 != 2 {
			f := said(s, r, stageCommand[stageDot])
			if f.soft() && !tx.final {
				a.logf("%s: %s", at.req.ID, f.reason)
			}
			at.fail([]int{i}, f, tx.final)
			continue
		}
		at.finish(i, deliver.Result{Kind: deliver.Sent, DSN: r.dsn, Reason: r.text, Relay: s.srv.namaddrport(),
			Action: "delivered", Diagnostic: "smtp; " + r.text, RemoteMTA: "dns; " + s.srv.host, ConnUse: s.connUse()})
	}
	return true
}

// markAll settles every recipient of the transaction with f.
func (tx *transaction) markAll(f *failure) {
	tx.at.fail(tx.rcpts, f, tx.final)
	for j := range tx.marked {
		tx.marked[j] = true
	}
}

func (tx *transaction) markAccepted() {
	for j, i := range tx.rcpts {
		for _, k := range tx.accepted {
			if i == k {
				tx.marked[j] = true
			}
		}
	}
}

// failUnmarked applies a session failure to the recipients this session
// has not settled or kept yet (smtp_stream_except).
func (tx *transaction) failUnmarked(f *failure) {
	var rest []int
	for j, i := range tx.rcpts {
		if !tx.marked[j] {
			rest = append(rest, i)
		}
	}
	if f.soft() && !tx.final {
		tx.a.logf("%s: %s", tx.at.req.ID, f.reason)
	}
	tx.at.fail(rest, f, tx.final)
}

// mailCommand is MAIL FROM with the parameters the server understands.
func (tx *transaction) mailCommand() string {
	env, ext := tx.at.req.Env, tx.s.ext
	var b strings.Builder
	b.WriteString("MAIL FROM:<" + smtpAddr(env.Sender) + ">")
	if ext.sizeOK {
		b.WriteString(" SIZE=" + strconv.FormatInt(tx.at.req.Size, 10))
	}
	if ext.eightBit && env.EightBit {
		b.WriteString(" BODY=8BITMIME")
	}
	if ext.dsn {
		if env.EnvID != "" {
			b.WriteString(" ENVID=" + xtext(env.EnvID))
		}
		if env.Ret != "" {
			b.WriteString(" RET=" + strings.ToUpper(env.Ret))
		}
	}
	if ext.smtputf8 && env.SMTPUTF8 {
		b.WriteString(" SMTPUTF8")
	}
	return b.String()
}

// rcptCommand is RCPT TO with NOTIFY and ORCPT when the server offers DSN.
func (tx *transaction) rcptCommand(i int) string {
	r := tx.at.rcpt(i)
	line := "RCPT TO:<" + smtpAddr(r.Addr) + ">"
	if tx.s.ext.dsn {
		if r.ORcpt != "" {
			line += " ORCPT=" + orcptParam(r.ORcpt, tx.at.req.Env.SMTPUTF8 && tx.s.ext.smtputf8)
		}
		if r.Notify != "" {
			line += " NOTIFY=" + strings.ToUpper(r.Notify)
		}
	}
	return line
}

// smtpAddr is an address in SMTP form, its local part quoted when needed.
func smtpAddr(addr string) string {
	if addr == "" {
		return ""
	}
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return address.Address{Local: addr[:i], Domain: addr[i+1:]}.String()
	}
	return address.Address{Local: addr}.String()
}

// orcptParam encodes "type;address" for ORCPT=: xtext, with the address
// type kept as is (Postfix's xtext_quote with "=" special). A utf-8
// address goes as is when the session uses SMTPUTF8.
func orcptParam(orcpt string, utf8OK bool) string {
	typ, addr, ok := strings.Cut(orcpt, ";")
	if !ok {
		typ, addr = "rfc822", orcpt
	}
	if !isASCII(addr) && !utf8OK {
		typ = "utf-8"
	}
	if strings.EqualFold(typ, "utf-8") && utf8OK {
		return typ + ";" + addr
	}
	return xtext(typ + ";" + addr)
}

// xtext encodes RFC 3461 xtext: "+", "=" and bytes outside "!".."~" as
// "+HH".
func xtext(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || c == '+' || c == '=' {
			b.WriteByte('+')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// needsSMTPUTF8 reports whether the envelope cannot be sent without
// SMTPUTF8: the sender or a recipient being sent has a non-ASCII address.
func needsSMTPUTF8(at *attempt, rcpts []int) bool {
	if !isASCII(at.req.Env.Sender) {
		return true
	}
	for _, i := range rcpts {
		if !isASCII(at.rcpt(i).Addr) {
			return true
		}
	}
	return false
}
