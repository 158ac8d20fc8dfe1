package postscreen

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/maillog"
	"github.com/postern-mta/postern/internal/maps"
)

// replyDefer is the RCPT reply of a client that passes every test in the
// dummy engine: it must come back later, and then talks to smtpd.
const replyDefer = "450 4.3.2 Service currently unavailable"

// engine is postscreen's dummy SMTP engine (Postfix's postscreen_smtpd.c):
// it talks SMTP with a client that must pass the deep protocol tests or
// that failed an enforced test, never accepts mail (every RCPT gets
// rcptReply, logged as a NOQUEUE line), and ends the session itself: the
// client is never handed to smtpd from here.
type engine struct {
	s       *session
	cfg     Engine
	c       net.Conn
	r       *bufio.Reader
	client  netip.AddrPort
	t       *tally
	start   time.Time
	filter  maps.Table // postscreen_command_filter
	reply   string     // rcptReply
	helo    string
	sender  *string // nil: no MAIL yet
	proto   string
	where   string // the last command: "after ..." in the log
	count   int
	discard map[string]bool
	tlsOn   bool // after STARTTLS
}

// The dummy engine's commands; "" for the others.
var commands = []string{"HELO", "EHLO", "STARTTLS", "XCLIENT", "XFORWARD", "AUTH", "MAIL", "RCPT",
	"DATA", "BDAT", "RSET", "NOOP", "VRFY", "ETRN", "QUIT"}

func knownCommand(verb string) string {
	for _, c := range commands {
		if strings.EqualFold(verb, c) {
			return c
		}
	}
	return ""
}

// runEngine runs the dummy engine on c until the session ends. enforce
// is the RCPT reply of an enforced failure ("": the client only runs
// the deep tests and gets replyDefer); banner: send the 220 greeting
// (not to a client that pregreeted). c is closed on return.
func (s *session) runEngine(c net.Conn, client netip.AddrPort, t *tally, enforce string, banner bool) {
	e := &engine{s: s, cfg: s.Config.Engine.withDefaults(), c: c, r: bufio.NewReaderSize(c, 4096), client: client, t: t,
		start: s.now(), reply: replyDefer, proto: "SMTP", where: "CONNECT", discard: s.Config.Engine.DiscardEHLO}
	if enforce != "" {
		// Postfix turns on every deep test for a client that failed a
		// test: its logging becomes more informative.
		e.reply = enforce
		t.todo |= tDeep
	}
	defer func() { e.c.Close() }()
	if f := e.cfg.CommandFilter; f != "" {
		e.filter = s.filters[f]
	}
	if banner && !e.send("220 "+s.Config.SMTPBanner) {
		e.hangup()
		return
	}
	e.loop()
}

// withDefaults fills in Postfix's defaults for settings left zero.
func (cfg Engine) withDefaults() Engine {
	if cfg.CommandTimeLimit <= 0 {
		cfg.CommandTimeLimit = 300 * time.Second
	}
	if cfg.CommandCountLimit <= 0 {
		cfg.CommandCountLimit = 20
	}
	if cfg.LineLimit <= 0 {
		cfg.LineLimit = 2048
	}
	return cfg
}

func (e *engine) myhostname() string {
	if h := e.cfg.MyHostname; h != "" {
		return h
	}
	return hostOf(e.s.Config.SMTPBanner)
}

// send writes one reply; false when the client is gone.
func (e *engine) send(reply string) bool {
	e.c.SetWriteDeadline(time.Now().Add(e.cfg.CommandTimeLimit))
	_, err := e.c.Write([]byte(reply + "\r\n"))
	return err == nil
}

// drop ends the session with a final reply, as Postfix's
// PSC_DROP_SESSION_STATE: the results are concluded (PASS NEW, cache),
// the reply sent, DISCONNECT logged.
func (e *engine) drop(reply string) {
	e.s.conclude(e.client, e.t)
	e.send(reply)
	e.s.Log.Info("DISCONNECT " + bracket(e.client))
}

// hangup ends a session the client broke off: no failure.
func (e *engine) hangup() {
	e.s.Log.Info(fmt.Sprintf("HANGUP after %s from %s in tests after SMTP handshake", maillog.Delay(e.s.now().Sub(e.start)), bracket(e.client)))
	e.s.conclude(e.client, e.t)
	e.s.Log.Info("DISCONNECT " + bracket(e.client))
}

func (e *engine) generic421() string {
	return "421 " + e.myhostname() + " Service unavailable - try again later"
}

// loop reads and answers commands until the session ends.
func (e *engine) loop() {
	cfg := &e.cfg
	for {
		// The whole command must arrive within the time limit.
		e.c.SetReadDeadline(time.Now().Add(cfg.CommandTimeLimit))
		line, bare, err := readCommand(e.r, cfg.LineLimit)
		switch {
		case errors.Is(err, errTooLong):
			e.s.Log.Info(fmt.Sprintf("COMMAND LENGTH LIMIT from %s after %s", bracket(e.client), e.where))
			e.drop(e.generic421())
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			e.s.Log.Info(fmt.Sprintf("COMMAND TIME LIMIT from %s after %s", bracket(e.client), e.where))
			e.drop("421 4.4.2 " + e.myhostname() + " Error: timeout exceeded")
			return
		case err != nil:
			e.hangup()
			return
		}
		if bare && e.testing(tBareNewline) {
			e.s.Log.Info(fmt.Sprintf("BARE NEWLINE from %s after %s", bracket(e.client), escape([]byte(line), 100)))
			if !e.failed(tBareNewline, "521 5.5.1 Protocol error") {
				return
			}
		}
		if done := e.command(line); done {
			return
		}
	}
}

// testing reports whether test runs and is not decided yet.
func (e *engine) testing(test tests) bool {
	return e.t.todo&test != 0 && e.t.skip&test == 0
}

// failed applies a failed deep test's action; false when the session
// was dropped.
func (e *engine) failed(test tests, dropReply string) bool {
	switch e.s.deep(test).Action {
	case Drop:
		e.t.failTest(test)
		e.drop(dropReply)
		return false
	case Enforce:
		e.t.failTest(test)
		e.reply = "550 5.5.1 Protocol error"
	default:
		// ignore: a pass until some other test expires.
		e.t.skip |= test
		e.t.passTest(test, e.s.now().Add(e.s.minTTL()))
	}
	return true
}

// command runs one command line; true when the session ended.
func (e *engine) command(line string) bool {
	cfg := &e.cfg
	if e.filter != nil && (!cfg.SMTPUTF8 || utf8.ValidString(line)) {
		key := strings.TrimLeft(line, " \t")
		v, ok, err := e.filter.Lookup(key)
		switch {
		case err != nil:
			e.s.Log.Error(fmt.Sprintf("%s lookup error for \"%.100s\": %v", e.filter.Name(), line, err))
			e.drop(e.generic421())
			return true
		case ok:
			e.s.Log.Info(fmt.Sprintf("%s: replacing command \"%.100s\" with \"%.100s\"", bracket(e.client), line, v))
			line = v
		}
	}
	verb, rest := splitCommand(line)
	saved := e.where
	name := knownCommand(verb)
	e.where = name
	if name == "" {
		e.where = "UNIMPLEMENTED"
	}
	if name == "" && e.testing(tNonSMTP) && (isHeader(verb) || cfg.SMTPUTF8 && !utf8.ValidString(verb) || e.forbidden(verb)) {
		e.s.Log.Info(fmt.Sprintf("NON-SMTP COMMAND from %s after %s: %.100s %s", bracket(e.client), saved, printable(verb), escape([]byte(rest), 100)))
		if !e.failed(tNonSMTP, "521 5.7.0 Error: I can break rules, too. Goodbye.") {
			return true
		}
	}
	if name != "BDAT" && e.testing(tPipelining) && e.r.Buffered() > 0 {
		peek, _ := e.r.Peek(min(e.r.Buffered(), 100))
		e.s.Log.Info(fmt.Sprintf("COMMAND PIPELINING from %s after %.100s: %s", bracket(e.client), printable(verb), escape(peek, 100)))
		if !e.failed(tPipelining, "521 5.5.1 Protocol error") {
			return true
		}
	}
	if name == "RCPT" {
		// A client that gets this far without a fault passes the
		// deep tests (it can still fail one later).
		now := e.s.now()
		for _, test := range []tests{tBareNewline, tNonSMTP, tPipelining} {
			if e.t.todo&test != 0 && (e.t.pass|e.t.fail)&test == 0 {
				e.t.passTest(test, now.Add(e.s.deep(test).TTL))
			}
		}
	}
	if e.count++; e.count > cfg.CommandCountLimit && name != "QUIT" {
		e.s.Log.Info(fmt.Sprintf("COMMAND COUNT LIMIT from %s after %s", bracket(e.client), saved))
		e.drop(e.generic421())
		return true
	}
	var reply string
	var done bool
	switch {
	case e.s.TLSRequired && !e.tlsOn && name != "" && !preTLS[name] && !notOffered[name]:
		reply = "530 5.7.0 Must issue a STARTTLS command first"
	case name == "STARTTLS" && firstWord(rest) == "" && !e.tlsOn && e.offersTLS():
		return !e.startTLS()
	default:
		reply, done = e.execute(name, rest)
	}
	if done {
		e.drop(reply)
		return true
	}
	if !e.send(reply) {
		e.hangup()
		return true
	}
	return false
}

// forbidden reports whether an unknown command is in
// postscreen_forbidden_commands.
func (e *engine) forbidden(verb string) bool {
	cfg := &e.cfg
	if verb == "" {
		return false
	}
	if cfg.Forbidden[strings.ToUpper(verb)] {
		return true
	}
	c := verb[0] | 0x20
	return cfg.ForbidNonLetter && (c < 'a' || c > 'z')
}

// execute answers a command: the reply, and whether it ends the session.
func (e *engine) execute(name, args string) (string, bool) {
	cfg := &e.cfg
	switch name {
	case "HELO", "EHLO":
		h := firstWord(args)
		if h == "" {
			return "501 Syntax: " + name + " hostname", false
		}
		e.helo, e.sender = h, nil
		if name == "HELO" {
			return "250 " + e.myhostname(), false
		}
		e.proto = "ESMTP"
		return e.ehloReply(), false
	case "STARTTLS":
		switch {
		case firstWord(args) != "":
			return "501 5.5.4 Syntax: STARTTLS", false
		case e.tlsOn:
			return "554 5.5.1 Error: TLS already active", false
		}
		return "502 5.5.1 Error: command not implemented", false
	case "MAIL":
		_, addr, ok := strings.Cut(args, ":")
		switch {
		case cfg.HeloRequired && e.helo == "":
			return "503 5.5.1 Error: send HELO/EHLO first", false
		case e.sender != nil:
			return "503 5.5.1 Error: nested MAIL command", false
		case !ok:
			return "501 5.5.4 Syntax: MAIL FROM:<address>", false
		}
		a := extractAddr(addr)
		e.sender = &a
		return "250 2.1.0 Ok", false
	case "RCPT":
		_, addr, ok := strings.Cut(args, ":")
		switch {
		case e.sender == nil:
			return "503 5.5.1 Error: need MAIL command", false
		case !ok:
			return "501 5.5.4 Syntax: RCPT TO:<address>", false
		}
		e.s.Log.Info(fmt.Sprintf("NOQUEUE: reject: RCPT from %s: %s; from=<%s>, to=<%s>, proto=%s, helo=<%s>",
			bracket(e.client), e.reply, *e.sender, extractAddr(addr), e.proto, e.helo))
		return e.reply, false
	case "DATA":
		e.s.Log.Info("DATA without valid RCPT from " + bracket(e.client))
		switch {
		case firstWord(args) != "":
			return "501 5.5.4 Syntax: DATA", true
		case e.sender == nil:
			return "503 5.5.1 Error: need RCPT command", true
		}
		return "554 5.5.1 Error: no valid recipients", true
	case "BDAT":
		e.s.Log.Info("BDAT without valid RCPT from " + bracket(e.client))
		switch {
		case e.discard["CHUNKING"]:
			return "502 5.5.1 Error: command not implemented", true
		case firstWord(args) == "":
			return "501 5.5.4 Syntax: BDAT count [LAST]", true
		case e.sender == nil:
			return "554 5.5.1 Error: need MAIL command", true
		}
		return "554 5.5.1 Error: no valid recipients", true
	case "RSET":
		e.sender = nil
		return "250 2.0.0 Ok", false
	case "NOOP":
		return "250 2.0.0 Ok", false
	case "VRFY":
		switch {
		case firstWord(args) == "":
			return "501 5.5.4 Syntax: VRFY address", false
		case cfg.DisableVRFY:
			return "502 5.5.1 VRFY command is disabled", false
		}
		return e.reply, false
	case "ETRN":
		switch {
		case cfg.HeloRequired && e.helo == "":
			return "503 5.5.1 Error: send HELO/EHLO first", false
		case firstWord(args) == "":
			return "500 Syntax: ETRN domain", false
		}
		return "458 Unable to queue messages", false
	case "QUIT":
		return "221 2.0.0 Bye", true
	}
	// Unknown, and XCLIENT, XFORWARD, AUTH: not offered.
	return "502 5.5.2 Error: command not recognized", false
}

// ehloReply is the engine's EHLO reply: Postfix's postscreen keywords,
// without PIPELINING (a client that pipelines anyway gives itself away),
// less postscreen_discard_ehlo_keywords.
func (e *engine) ehloReply() string {
	cfg := &e.cfg
	lines := []string{e.myhostname()}
	add := func(kw, line string) {
		if !e.discard[kw] {
			lines = append(lines, line)
		}
	}
	if cfg.MessageSize > 0 {
		add("SIZE", fmt.Sprintf("SIZE %d", cfg.MessageSize))
	} else {
		add("SIZE", "SIZE")
	}
	if !cfg.DisableVRFY {
		add("VRFY", "VRFY")
	}
	add("ETRN", "ETRN")
	if e.s.TLS != nil && !e.tlsOn {
		add("STARTTLS", "STARTTLS")
	}
	add("ENHANCEDSTATUSCODES", "ENHANCEDSTATUSCODES")
	add("8BITMIME", "8BITMIME")
	add("DSN", "DSN")
	if cfg.SMTPUTF8 {
		add("SMTPUTF8", "SMTPUTF8")
	}
	add("CHUNKING", "CHUNKING")
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("250" + sep + l)
	}
	return b.String()
}

// preTLS are the commands a client may send before STARTTLS when TLS is
// required.
var preTLS = map[string]bool{"HELO": true, "EHLO": true, "STARTTLS": true, "NOOP": true, "QUIT": true}

// notOffered are the commands the engine knows but answers as unknown.
var notOffered = map[string]bool{"XCLIENT": true, "XFORWARD": true, "AUTH": true}

// offersTLS reports whether STARTTLS is available to this client.
func (e *engine) offersTLS() bool { return e.s.TLS != nil && !e.discard["STARTTLS"] }

// startTLS answers STARTTLS and runs the handshake; false when the
// session ended. Plaintext pipelined behind the command is dropped
// unread (CVE-2011-0411), and the session starts again: no HELO, no
// MAIL.
func (e *engine) startTLS() bool {
	if !e.send("220 2.0.0 Ready to start TLS") {
		e.hangup()
		return false
	}
	e.r.Discard(e.r.Buffered())
	tc := tls.Server(e.c, e.s.TLS())
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.CommandTimeLimit)
	defer cancel()
	e.c = tc
	if err := tc.HandshakeContext(ctx); err != nil {
		e.s.Log.Info(fmt.Sprintf("TLS handshake failed for %s: %v", bracket(e.client), err))
		e.hangup()
		return false
	}
	e.r = bufio.NewReaderSize(tc, 4096)
	e.tlsOn, e.helo, e.sender = true, "", nil
	return true
}

// hostOf is the first word of the banner: $myhostname.
func hostOf(banner string) string {
	if f := strings.Fields(banner); len(f) > 0 {
		return f[0]
	}
	return "localhost"
}
