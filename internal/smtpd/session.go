package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/idlewait"
	"github.com/postern-mta/postern/internal/milter"
	"github.com/postern-mta/postern/internal/pipelining"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/smtpio"
)

// session is one SMTP conversation. Its state is the client (req), the
// greeting (helo/esmtp) and the mail transaction (tx), which every failed
// MAIL, RSET, EHLO/HELO and end of message resets, as Postfix does.
type session struct {
	srv    *Server
	cfg    *Config
	conn   net.Conn    // the connection, or TLS over it
	raw    net.Conn    // the network connection itself
	cr     *connReader // the time limits under rd
	rd     *smtpio.Reader
	info   Conn
	w      *replyWriter
	req    policy.Request
	esmtp  bool
	helo   bool
	tx     *transaction
	errors int
	junk   int // NOOP, RSET, VRFY, HELO/EHLO so far (smtpd_junk_command_limit)
	quit   bool
	// where is Postfix's state->where: the last command, for the
	// "timeout after …" and "lost connection after …" log lines.
	where string
	// denied is set when smtpd_delay_reject = no rejected the client at
	// connect: every later command but QUIT gets 503.
	denied string
	// counts and lastCode feed the disconnect line's command counters.
	counts   counters
	lastCode byte
	// peeker and peekBuf look for input in the socket that was not read
	// yet (improperPipelining).
	peeker  *pipelining.Peeker
	peekBuf [pipelining.MaxLogged]byte
	// tls is the TLS connection state once STARTTLS (or wrapper mode)
	// succeeded; nil in plaintext.
	tls *tls.ConnectionState
	// tlsSigs: the server's and (after "\n") the client's signature
	// descriptions for the TLS log line and Received: comment.
	tlsSigs string
	// auth is the SMTP AUTH state; nil until a client authenticated.
	// STARTTLS resets it with the rest of the session.
	auth *authState
	// mechs caches the AUTH mechanisms offered (auth.go).
	mechs *mechList
	// milters is the session's smtpd_milters chain (milter.go), nil
	// without milters; milterHold: one asked for hold at CONNECT or HELO.
	milters    *milter.Chain
	milterHold bool
	// milterGreeted: a milter's reject at CONNECT was the greeting.
	milterGreeted bool
	// busy: counted in Conn.Busy (busy.go).
	busy bool
}

type transaction struct {
	sender   string
	env      queue.Envelope
	rejected int // recipients refused, for "no valid recipients"
	// overshoot counts RCPTs past smtpd_recipient_limit (Postfix's
	// rcpt_overshoot, reset with the transaction).
	overshoot int
	discard   bool
	bdat      *message
	bdatSize  int64 // content bytes so far, bare <LF> counted as <CR><LF>
	chunked   bool  // the content came with BDAT
	bdatErr   string
	// authSender is MAIL FROM's AUTH= value, logged only (auth.go).
	authSender string
	// milterHold, milterDiscard: a milter asked for it (milter.go).
	milterHold, milterDiscard bool
	// size: MAIL FROM's SIZE=; instance: the policy service's
	// per-message "instance" attribute (policyattrs.go).
	size     int64
	instance string
	// prepend: headers from PREPEND actions of accepted commands.
	prepend []string
}

// Values of session.where besides command names, as Postfix's.
const (
	afterConnect = "CONNECT"
	afterData    = "DATA" // while reading content: the log line adds the bytes
	afterDot     = "END-OF-MESSAGE"
	unknownCmd   = "UNKNOWN"
)

func newSession(s *Server, c net.Conn, info Conn) *session {
	ss := &session{srv: s, cfg: s.Config, conn: c, raw: c, w: newReplyWriter(c), info: info, where: afterConnect}
	if info.Stress && s.Stress != nil {
		ss.cfg = s.Stress
	}
	if s.StandAlone && (ss.cfg.TLSLevel != "" || ss.cfg.TLSWrapper) {
		c := *ss.cfg // sendmail -bs: no TLS, as Postfix's stand-alone smtpd
		c.TLSLevel, c.TLSWrapper, c.AskCCert, c.ReqCCert = "", false, false, false
		ss.cfg = &c
	}
	ss.req.Session = ss.policyAttr
	ss.cr = newConnReader(c, ss.cfg)
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	ss.req.ClientAddr = ap.Addr().Unmap()
	ss.req.ClientName = "unknown"
	mode := s.Config.BareNewline
	if mode != smtpio.Allow && s.BareNewlineExempt != nil && s.BareNewlineExempt(ss.req.ClientAddr) {
		mode = smtpio.Allow // excluded clients keep the legacy behaviour, as in Postfix
	}
	ss.rd = smtpio.NewReader(ss.cr, mode)
	if ss.cr.idle = idlewait.New(c); ss.cr.idle != nil {
		ss.rd.SetIdler(ss.cr) // no buffers held between commands
	}
	return ss
}

func (ss *session) log(format string, args ...any) {
	if ss.srv.Log != nil {
		ss.srv.Log.Info(fmt.Sprintf(format, args...))
	}
}

func (ss *session) logWarn(format string, args ...any) {
	if ss.srv.Log != nil {
		ss.srv.Log.Warn(fmt.Sprintf(format, args...))
	}
}

// reply sends one reply line (or several joined by "\n") and flushes
// unless more pipelined commands are already waiting. Past
// smtpd_soft_error_limit errors every reply waits smtpd_error_sleep_time
// first, as Postfix's smtpd_chat_reply ("sleep-on-anything").
func (ss *session) reply(lines ...string) {
	if ss.errors >= ss.cfg.SoftErrorLimit && ss.cfg.ErrorSleep > 0 {
		ss.w.Flush()
		time.Sleep(ss.cfg.ErrorSleep)
	}
	for i, l := range lines {
		sep := " "
		if i < len(lines)-1 {
			sep = "-"
		}
		code, text := replyLine(l)
		ss.w.WriteString(code + sep + text + "\r\n")
		ss.lastCode = code[0]
	}
	if ss.rd.Buffered() == 0 {
		ss.w.Flush()
	}
}

// fail sends an error reply and counts the error.
func (ss *session) fail(line string) {
	ss.reply(line)
	ss.errors++
	ss.checkErrors()
}

// checkErrors ends the session at smtpd_hard_error_limit errors, as
// Postfix does before it reads the next command.
func (ss *session) checkErrors() {
	if ss.errors >= ss.cfg.HardErrorLimit && !ss.quit {
		ss.reply(fmt.Sprintf("421 4.7.0 %s Error: too many errors", ss.cfg.Hostname))
		ss.logEnd("too many errors")
		ss.quit = true
	}
}

// countJunk counts a command that can be repeated without end (Postfix
// flags HELO, EHLO, RSET, NOOP, VRFY and ETRN): past
// smtpd_junk_command_limit each one counts as an error too.
func (ss *session) countJunk() {
	if ss.junk++; ss.junk-1 > ss.cfg.JunkLimit {
		ss.errors++
		ss.checkErrors()
	}
}

// logEnd logs why a session ended abnormally, as Postfix does: the
// reason and the last command, with the bytes received when it was
// DATA content; a connection lost right after a message is normal.
func (ss *session) logEnd(reason string) {
	switch {
	case ss.where == afterData:
		ss.log("%s after DATA (%d bytes) from %s", reason, ss.cr.received, ss.req.Client())
	case ss.where != afterDot || reason != "lost connection":
		ss.log("%s after %s from %s", reason, ss.where, ss.req.Client())
	}
}

func (ss *session) deadline() {
	ss.conn.SetDeadline(time.Now().Add(ss.cfg.Timeout))
}

// run is the session: its start (open), the command loop, its end.
// The command loop is where idle sessions wait, so run and its callers
// keep their frames small: with more than 2 KiB of the stack in use
// there, the runtime keeps 8 KiB for each idle session instead of 4.
func (ss *session) run(ctx context.Context) {
	if !ss.setBusy(true) {
		ss.tooBusy("CONNECT")
		return
	}
	defer ss.setBusy(false)
	ss.connect(ctx)
	defer ss.end(ctx)
	release, ok := ss.open(ctx)
	if release != nil {
		defer release()
	}
	if !ok {
		return
	}
	for !ss.quit {
		ss.deadline()
		ss.idle()
		var line string
		err := ss.rd.Wait() // without buffers while the client is silent
		if err == nil {
			line, err = ss.rd.ReadCommand(ss.cfg.LineLimit)
		}
		if !ss.setBusy(true) {
			ss.tooBusy(line)
			return
		}
		switch {
		case errors.Is(err, smtpio.ErrLineTooLong):
			ss.fail("500 5.5.2 Error: line too long")
			continue
		case errors.Is(err, smtpio.ErrBareLF):
			if ss.bareNewline() {
				return
			}
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			ss.timedOut()
			return
		case err != nil:
			ss.abortTx()
			ss.logEnd("lost connection")
			return
		}
		ss.command(ctx, line)
	}
}

// connect looks up the client's names and logs the connection.
//
//go:noinline
func (ss *session) connect(ctx context.Context) {
	if ss.srv.LookupClient != nil {
		n := ss.srv.LookupClient(ctx, ss.req.ClientAddr)
		ss.req.ClientName, ss.req.ReverseName = n.Verified, n.Reverse
		ss.req.ClientNameTemp, ss.req.ReverseNameTemp = n.VerifiedTemp, n.ReverseTemp
		if n.Warning != "" {
			ss.logWarn("%s", n.Warning)
		}
	}
	ss.log("connect from %s", ss.req.Client())
}

// open runs everything before the first command: TLS in wrapper mode,
// the per-client limits, smtpd_client_restrictions without
// smtpd_delay_reject, talk before the greeting, the milters' CONNECT
// and the greeting. ok false ends the session; release, if not nil,
// is for the session's end.
//
//go:noinline
func (ss *session) open(ctx context.Context) (release func(), ok bool) {
	ss.deadline()
	if ss.cfg.TLSWrapper && !ss.srv.StandAlone && !ss.wrapperTLS(ctx) {
		return nil, false
	}
	release, ok = ss.admit()
	if !ok {
		return nil, false
	}
	if !ss.cfg.DelayReject {
		if v := ss.srv.Policy.Check(ctx, "smtpd_client_restrictions", policy.Client, &ss.req); v.Kind == policy.Reject {
			ss.denied = fmt.Sprintf("503 5.7.0 Error: access denied for %s", ss.req.Client())
			ss.log("NOQUEUE: reject: CONNECT from %s: %s; %s", ss.req.Client(), v.Reply, ss.whatsup("CONNECT"))
		}
	}
	if ss.improperPipelining("CONNECT") {
		return release, false // no greeting: Postfix answers talk before it with 554 alone
	}
	if !ss.milterConnect(ctx) {
		return release, false
	}
	if !ss.milterGreeted {
		ss.reply("220 " + ss.cfg.Banner)
	}
	return release, true
}

// end finishes the session, however it ended.
func (ss *session) end(ctx context.Context) {
	ss.abortTx() // a BDAT message left open (QUIT, a hang-up) queues nothing and frees its pipe
	if ss.milters != nil {
		ss.milters.Close(context.WithoutCancel(ctx))
	}
	ss.w.Flush()
	if ss.tls != nil {
		ss.conn.Close() // close_notify
	}
	ss.log("disconnect from %s%s", ss.req.Client(), &ss.counts)
}

// timedOut answers a client that let smtpd_timeout pass.
//
//go:noinline
func (ss *session) timedOut() {
	ss.deadline() // the expired deadline would refuse the reply too
	ss.reply(fmt.Sprintf("421 4.4.2 %s Error: timeout exceeded", ss.cfg.Hostname))
	ss.logEnd("timeout")
}

func (ss *session) command(ctx context.Context, line string) {
	if strings.ContainsAny(line, "\x00\r") {
		ss.fail("500 5.5.2 Error: bad syntax")
		return
	}
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	ss.lastCode = 0
	ss.syncAuth()
	defer func() { ss.counts.add(verb, ss.lastCode != '4' && ss.lastCode != '5') }()
	if ss.improperPipelining(verb) {
		return
	}
	if ss.denied != "" && verb != "QUIT" {
		ss.fail(ss.denied)
		return
	}
	if ss.needTLS(verb) && (pipelining.Known(verb) || verb == "AUTH") {
		ss.fail("530 5.7.0 Must issue a STARTTLS command first")
		return
	}
	if ss.tx != nil && ss.tx.bdat != nil && verb != "BDAT" && verb != "QUIT" && verb != "RSET" && verb != "NOOP" {
		ss.abortTx()
		ss.fail("503 5.5.1 Error: BDAT in progress")
		return
	}
	ss.where = unknownCmd
	if pipelining.Known(verb) {
		ss.where = verb
	}
	switch verb {
	case "EHLO", "HELO":
		ss.cmdHelo(ctx, verb, strings.TrimSpace(arg))
	case "MAIL":
		ss.cmdMail(ctx, arg)
	case "RCPT":
		ss.cmdRcpt(ctx, arg)
	case "DATA":
		ss.cmdData(ctx, arg)
	case "BDAT":
		ss.cmdBdat(ctx, arg)
	case "STARTTLS":
		ss.cmdStartTLS(ctx, arg)
	case "AUTH":
		ss.cmdAuth(ctx, arg)
	case "RSET":
		ss.abortTx()
		ss.reply("250 2.0.0 Ok")
	case "NOOP":
		ss.reply("250 2.0.0 Ok")
	case "QUIT":
		ss.reply("221 2.0.0 Bye")
		ss.quit = true
	case "VRFY":
		if ss.cfg.DisableVRFY {
			ss.fail("502 5.5.1 VRFY command is disabled")
		} else if strings.TrimSpace(arg) == "" {
			ss.fail("501 5.5.4 Syntax: VRFY address")
		} else {
			ss.reply("252 2.0.0 " + strings.Trim(strings.TrimSpace(arg), "<>"))
		}
	default:
		if isHeaderLike(verb) || ss.forbidden(verb) {
			// A mail header sent as a command, or one of
			// smtpd_forbidden_commands (CONNECT, GET, POST: a web proxy
			// or browser made to talk to port 25): a confused client or
			// an HTTP/header injection attempt. Postfix hangs up the same
			// way and logs a warning.
			ss.logWarn("non-SMTP command from %s: %.100s", ss.req.Client(), line)
			ss.reply("221 2.7.0 Error: I can break rules, too. Goodbye.")
			ss.quit = true
			return
		}
		if ss.milters != nil {
			// Postfix sends the command name only (argv[0])
			name, _, _ := strings.Cut(line, " ")
			if r := ss.milterReply(unknownCmd, ss.milters.Unknown(ctx, name), nil, nil); r != "" {
				ss.milterFail(r)
				return
			}
		}
		ss.fail("500 5.5.2 Error: command not recognized")
	}
	switch verb {
	case "EHLO", "HELO", "RSET", "NOOP", "VRFY", "ETRN":
		ss.countJunk()
	}
}

// forbidden reports whether an unknown command is in
// smtpd_forbidden_commands: by name, ignoring case, or, with the default
// table, because it does not start with a letter.
func (ss *session) forbidden(verb string) bool {
	if verb == "" {
		return false
	}
	if ss.cfg.Forbidden[verb] {
		return true
	}
	c := verb[0] | 0x20
	return ss.cfg.ForbidNonLetter && (c < 'a' || c > 'z')
}

// isHeaderLike matches "Subject:", "From:", "Received:" used as commands.
func isHeaderLike(verb string) bool {
	if len(verb) < 2 || verb[len(verb)-1] != ':' {
		return false
	}
	for _, c := range verb[:len(verb)-1] {
		if !(c == '-' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// abortTx drops the transaction and any BDAT content already received.
func (ss *session) abortTx() {
	if ss.tx != nil && ss.tx.bdat != nil {
		ss.tx.bdat.Abort(errAborted)
		ss.rd.EndMessage()
	}
	ss.tx = nil
	ss.req.Sender, ss.req.Recipient, ss.req.RcptAddr = "", "", address.Address{}
	if ss.milters != nil {
		ss.milters.Abort(context.Background())
	}
}

// bareNewline answers a bare <LF> in Reject mode with
// smtpd_forbid_bare_newline_reject_code (550: the session goes on in
// step; 521: it ends) and reports whether the session is over.
func (ss *session) bareNewline() bool {
	code := ss.cfg.BareRejectCode
	if code == 521 {
		ss.reply(fmt.Sprintf("521 5.5.2 %s Error: bare <LF> received", ss.cfg.Hostname))
		ss.quit = true
		return true
	}
	ss.fail(fmt.Sprintf("%d 5.5.2 %s Error: bare <LF> received", code, ss.cfg.Hostname)) // as Postfix words it
	return ss.quit
}

// replyLine splits a reply line into its code and text for the wire.
// Our own replies are well formed; whatever is not (a short line, no
// code, CR, LF or other control characters) is mended rather than
// trusted: no input may make smtpd panic or split a reply.
func replyLine(l string) (code, text string) {
	if len(l) < 3 || l[0] < '2' || l[0] > '5' || !isDigit(l[1]) || !isDigit(l[2]) {
		return "451", "4.3.0 Error: internal error"
	}
	text = strings.TrimLeft(l[3:], " -")
	if strings.IndexFunc(text, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		text = strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return ' '
			}
			return r
		}, text)
	}
	return l[:3], text
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
