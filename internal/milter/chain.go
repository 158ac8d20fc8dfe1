package milter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/cleanup"
)

// Replies of a Chain, in Postfix's encoding: "" goes on; "D" discards
// the message, "H" holds it (quarantine), "S" ends the session with
// 421; anything else is an SMTP reply starting with 4 or 5 (lines
// separated by "\r\n").
const (
	ReplyDiscard  = "D"
	ReplyHold     = "H"
	ReplyShutdown = "S"
)

// Postfix's fixed reply texts.
const (
	replyReject      = "550 5.7.1 Command rejected"
	replyTempfail    = "451 4.7.1 Service unavailable - try again later"
	replyDefReject   = "550 5.5.0 Service unavailable"
	replyConfigError = "451 4.3.5 Server configuration problem - try again later"
)

// Client is where a chain's events come from: the SMTP client as the
// milters see it in SMFIC_CONNECT.
type Client struct {
	// Name is the verified client name, "unknown" when there is none.
	Name string
	// Addr and Port: the client's address and port; Family is
	// FamilyInet, FamilyInet6, FamilyUnix or FamilyUnknown.
	Addr   string
	Port   uint16
	Family byte
}

// Chain is the milters of one SMTP session (or one local submission),
// in configuration order, each connected lazily at its first event.
// Each event goes to the milters in turn until one answers something
// other than continue, as Postfix's milter_*_event do. A milter that
// cannot be reached, times out or breaks the protocol answers its
// default_action for the rest of the session, and its failure is
// logged as Postfix logs it. Not safe for concurrent use.
type Chain struct {
	ms     []*conn
	macros MacroLists
	look   Lookup
	log    *slog.Logger
	client Client
	// Limits bound each milter's modifications at end of message.
	Limits Limits
	// Canonical rewrites the addresses a milter adds or changes as
	// cleanup rewrites (smtpd: Policy.Canonical); nil leaves them as
	// given.
	Canonical func(address.Address) address.Address
	// inMsg: a MAIL event was sent and no end of message or abort yet.
	inMsg bool
}

type conn struct {
	spec   Spec
	s      *Session
	failed bool   // after an error: defReply for every event
	def    string // the reply of a failed milter
}

// NewChain returns a chain for specs. look gives the macro values (it
// is called at each event); log gets the warnings.
func NewChain(specs []Spec, macros MacroLists, look Lookup, log *slog.Logger) *Chain {
	c := &Chain{macros: macros, look: look, log: log}
	for _, s := range specs {
		c.ms = append(c.ms, &conn{spec: s})
	}
	return c
}

func (c *Chain) warn(format string, args ...any) {
	if c.log != nil {
		c.log.Warn(fmt.Sprintf(format, args...))
	}
}

// cmdNames are Postfix's names of the events, for log lines.
var cmdNames = map[byte]string{
	CmdOptNeg: "SMFIC_OPTNEG", CmdConnect: "SMFIC_CONNECT", CmdHelo: "SMFIC_HELO",
	CmdMail: "SMFIC_MAIL", CmdRcpt: "SMFIC_RCPT", CmdData: "SMFIC_DATA",
	CmdHeader: "SMFIC_HEADER", CmdEOH: "SMFIC_EOH", CmdBody: "SMFIC_BODY",
	CmdEOB: "SMFIC_BODYEOB", CmdUnknown: "SMFIC_UNKNOWN", CmdAbort: "SMFIC_ABORT",
	CmdQuit: "SMFIC_QUIT",
}

// errText is an error as C's strerror words it ("Connection refused").
func errText(err error) string {
	var errno syscall.Errno
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return "Connection timed out"
	case errors.As(err, &errno):
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "Connection closed by milter"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "Connection timed out"
	}
	return err.Error()
}

// defReply is the reply of a failed milter: milter_default_action.
func defReply(action string) string {
	switch strings.ToLower(action) {
	case DefaultAccept:
		return ""
	case DefaultReject:
		return replyDefReject
	case DefaultTempfail:
		return replyTempfail
	case DefaultQuarantine:
		return ReplyHold
	case DefaultShutdown:
		return ReplyShutdown
	}
	return replyConfigError
}

// fail ends m's conversation after err during event cmd: its default
// action stands for the rest of the session.
func (c *Chain) fail(m *conn, cmd byte, err error) string {
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		c.warn("milter %s: %s", m.spec.Name, pe.Reason)
	default:
		c.warn("milter %s: can't read %s reply packet header: %s", m.spec.Name, cmdNames[cmd], errText(err))
	}
	return c.failWith(m, defReply(m.spec.DefaultAction))
}

func (c *Chain) failWith(m *conn, reply string) string {
	if m.s != nil {
		m.s.Close()
	}
	m.failed, m.def = true, reply
	return reply
}

// ensure connects and negotiates with m and reports the connect event,
// once. It returns the milter's answer to the connect event when it is
// not to go on ("" and true when it is).
func (c *Chain) ensure(ctx context.Context, m *conn) (string, bool) {
	if m.failed {
		return m.def, false
	}
	if m.s != nil {
		return "", true
	}
	nc, err := Dial(ctx, m.spec.Network, m.spec.Address, m.spec.ConnectTimeout)
	if err != nil {
		c.warn("connect to Milter service %s: %s", m.spec.Name, errText(err))
		return c.failWith(m, defReply(m.spec.DefaultAction)), false
	}
	s := NewSession(nc)
	s.ConnectTimeout, s.CommandTimeout, s.ContentTimeout = m.spec.ConnectTimeout, m.spec.CommandTimeout, m.spec.ContentTimeout
	s.Offer = m.spec.Offer()
	m.s = s
	neg, err := s.Negotiate(ctx)
	if err != nil {
		return c.fail(m, CmdOptNeg, err), false
	}
	cl := c.client
	host := cl.Name
	if host == "" || host == "unknown" && cl.Addr != "" && cl.Addr != "unknown" {
		host = "[" + cl.Addr + "]"
	}
	v, err := s.Connect(ctx, host, cl.Family, cl.Port, cl.Addr, eval(c.macros.names(StageConnect, neg), c.look, c.macros.Defaults))
	if err != nil {
		return c.fail(m, CmdConnect, err), false
	}
	r := c.reply(m, v, true)
	return r, r == ""
}

// reply turns a verdict into Postfix's reply encoding.
func (c *Chain) reply(m *conn, v Verdict, connectOrHelo bool) string {
	switch v.Code {
	case RepContinue, RepAccept:
		return ""
	case RepReject:
		return replyReject
	case RepTempfail:
		return replyTempfail
	case RepShutdown:
		return ReplyShutdown
	case RepDiscard:
		if connectOrHelo {
			c.warn("milter %s: DISCARD action is not allowed for connect or helo", m.spec.Name)
			return ""
		}
		return ReplyDiscard
	case RepReplyCode:
		r, ok := sanitizeReply(v.Text)
		if !ok {
			c.warn("milter %s: malformed reply: %s", m.spec.Name, v.Text)
			r = replyConfigError
			if strings.EqualFold(m.spec.DefaultAction, DefaultAccept) {
				r = ""
			}
			return c.failWith(m, r)
		}
		// every line as the first: one code, no CR/LF/control
		// characters, bounded (the client must never see more)
		return strings.Join(cleanup.ReplyLines(r), "\r\n")
	}
	c.warn("milter %s: unexpected filter response %q", m.spec.Name, v.Code)
	return c.failWith(m, defReply(m.spec.DefaultAction))
}

// sanitizeReply checks a SMFIR_REPLYCODE text as Postfix does (code 4xx
// or 5xx, the enhanced status code of the same class) and undoes
// Sendmail's format-string quoting: "%%" is "%", a single "%" goes.
func sanitizeReply(s string) (string, bool) {
	if len(s) < 4 || (s[0] != '4' && s[0] != '5') || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' ||
		(s[3] != ' ' && s[3] != '-') || (len(s) > 4 && s[4] >= '0' && s[4] <= '9' && s[4] != s[0]) {
		return "", false
	}
	if !strings.Contains(s, "%") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+1 < len(s) && s[i+1] == '%' {
				b.WriteByte('%')
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), true
}

// each sends one event to every milter in turn until one replies.
func (c *Chain) each(ctx context.Context, cmd byte, connectOrHelo bool, send func(m *conn) (Verdict, error)) string {
	for _, m := range c.ms {
		r, ok := c.ensure(ctx, m)
		if ok {
			v, err := send(m)
			if err != nil {
				r = c.fail(m, cmd, err)
			} else if r = c.reply(m, v, connectOrHelo); r == "" && m.s.Quarantined() {
				r = ReplyHold
			}
		}
		if r != "" {
			return r
		}
	}
	return ""
}

// Connect reports the client connection: each milter is connected and
// told.
func (c *Chain) Connect(ctx context.Context, cl Client) string {
	c.client = cl
	hold := false
	for _, m := range c.ms {
		r, ok := c.ensure(ctx, m)
		if r == ReplyHold || ok && m.s.Quarantined() {
			hold, r = true, ""
		}
		if r != "" {
			return r
		}
	}
	if hold {
		return ReplyHold
	}
	return ""
}

// Helo reports HELO or EHLO.
func (c *Chain) Helo(ctx context.Context, name string) string {
	return c.each(ctx, CmdHelo, true, func(m *conn) (Verdict, error) {
		return m.s.Helo(ctx, name, eval(c.macros.names(StageHelo, m.s.Negotiated()), c.look, c.macros.Defaults))
	})
}

// Mail reports MAIL FROM: the sender as written, in angle brackets
// ("<>" for the null sender), and its ESMTP parameters.
func (c *Chain) Mail(ctx context.Context, sender string, args []string) string {
	c.inMsg = true
	return c.each(ctx, CmdMail, false, func(m *conn) (Verdict, error) {
		return m.s.Mail(ctx, sender, args, eval(c.macros.names(StageMail, m.s.Negotiated()), c.look, c.macros.Defaults))
	})
}

// Rcpt reports RCPT TO.
func (c *Chain) Rcpt(ctx context.Context, rcpt string, args []string) string {
	return c.each(ctx, CmdRcpt, false, func(m *conn) (Verdict, error) {
		return m.s.Rcpt(ctx, rcpt, args, eval(c.macros.names(StageRcpt, m.s.Negotiated()), c.look, c.macros.Defaults))
	})
}

// Data reports the DATA (or first BDAT) command.
func (c *Chain) Data(ctx context.Context) string {
	return c.each(ctx, CmdData, false, func(m *conn) (Verdict, error) {
		return m.s.Data(ctx, eval(c.macros.names(StageData, m.s.Negotiated()), c.look, c.macros.Defaults))
	})
}

// Unknown reports an unrecognised command line.
func (c *Chain) Unknown(ctx context.Context, line string) string {
	return c.each(ctx, CmdUnknown, false, func(m *conn) (Verdict, error) {
		return m.s.Unknown(ctx, line, eval(c.macros.Unknown, c.look, c.macros.Defaults))
	})
}

// Abort ends the current message without end of message (RSET, HELO,
// a refused DATA): milters that saw its MAIL are told.
func (c *Chain) Abort(ctx context.Context) {
	if !c.inMsg {
		return
	}
	c.inMsg = false
	for _, m := range c.ms {
		if m.s != nil && !m.failed {
			if err := m.s.Abort(ctx); err != nil {
				c.fail(m, CmdAbort, err)
			}
		}
	}
}

// Close ends every conversation with SMFIC_QUIT.
func (c *Chain) Close(ctx context.Context) {
	for _, m := range c.ms {
		if m.s != nil && !m.failed {
			m.s.Quit(ctx)
		}
		m.failed, m.def = true, ""
	}
}
