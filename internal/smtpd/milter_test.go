package smtpd_test

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/milter"
	"github.com/postern-mta/postern/internal/milter/miltertest"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// dialGreet connects and expects the greeting dialog[0][1] when
// dialog[0][0] is "", 220 otherwise.
func dialGreet(t *testing.T, s *smtptest.Server, dialog [][2]string) *client {
	t.Helper()
	c, err := net.Dial("tcp4", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &client{t: t, c: c, br: bufio.NewReader(c)}
	if len(dialog) > 0 && dialog[0][0] == "" {
		cl.expect(dialog[0][1])
	} else {
		cl.expect("220 ")
	}
	return cl
}

// on answers one command with replies, continue to the others.
func on(cmd byte, rs ...milter.Reply) func(miltertest.Event) []milter.Reply {
	return func(e miltertest.Event) []milter.Reply {
		if e.Cmd == cmd {
			return rs
		}
		return nil
	}
}

// Every verdict a milter can give at a SMTP command gets Postfix's
// reply and log line, and the session goes on (or ends after 421).
func TestMilterEnvelopeVerdicts(t *testing.T) {
	const from, to = "MAIL FROM:<a@example.test>", "RCPT TO:<b@example.test>"
	for _, tc := range []struct {
		name    string
		respond func(miltertest.Event) []milter.Reply
		dialog  [][2]string // command, reply prefix
		log     string
	}{
		{"reject at RCPT", on(milter.CmdRcpt, milter.Reply{Cmd: milter.RepReject}),
			[][2]string{{"EHLO client.test", "250 "}, {from, "250 "}, {to, "550 5.7.1 Command rejected"}, {"DATA", "554 5.5.1 Error: no valid recipients"}},
			"NOQUEUE: milter-reject: RCPT from unknown[127.0.0.1]: 550 5.7.1 Command rejected; from=<a@example.test> to=<b@example.test> proto=ESMTP helo=<client.test>"},
		{"tempfail at MAIL", on(milter.CmdMail, milter.Reply{Cmd: milter.RepTempfail}),
			[][2]string{{"EHLO client.test", "250 "}, {from, "451 4.7.1 Service unavailable - try again later"}, {to, "503 "}},
			"NOQUEUE: milter-reject: MAIL from unknown[127.0.0.1]: 451 4.7.1 Service unavailable - try again later; from=<a@example.test> proto=ESMTP helo=<client.test>"},
		{"replycode at HELO applies from MAIL on, %% unquoted", on(milter.CmdHelo, milter.Reply{Cmd: milter.RepReplyCode, Text: "554 5.7.1 100%% go away"}),
			[][2]string{{"HELO client.test", "250 "}, {from, "554 5.7.1 100% go away"}, {"NOOP", "250 "}, {from, "554 5.7.1 100% go away"}},
			"NOQUEUE: milter-reject: HELO from unknown[127.0.0.1]: 554 5.7.1 100% go away; proto=SMTP helo=<client.test>"},
		{"shutdown at HELO", on(milter.CmdHelo, milter.Reply{Cmd: milter.RepShutdown}),
			[][2]string{{"HELO client.test", "421 4.7.0 Server closing connection"}},
			"NOQUEUE: milter-reject: HELO from unknown[127.0.0.1]: 421 4.7.0 Server closing connection; proto=SMTP helo=<client.test>"},
		{"multi-line replycode at DATA", on(milter.CmdData, milter.Reply{Cmd: milter.RepReplyCode, Text: "450-4.7.0 one\r\n450 4.7.0 two"}),
			[][2]string{{"EHLO client.test", "250 "}, {from, "250 "}, {to, "250 "}, {"DATA", "450 4.7.0 two"}},
			"milter-reject: DATA from unknown[127.0.0.1]: 450 4.7.0 one 450 4.7.0 two; from=<a@example.test>"},
		{"discard at MAIL", on(milter.CmdMail, milter.Reply{Cmd: milter.RepDiscard}),
			[][2]string{{"EHLO client.test", "250 "}, {from, "250 2.1.0 Ok"}, {to, "250 "}},
			"NOQUEUE: milter-discard: MAIL from unknown[127.0.0.1]: milter triggers DISCARD action; from=<a@example.test> proto=ESMTP helo=<client.test>"},
		{"shutdown at RCPT", on(milter.CmdRcpt, milter.Reply{Cmd: milter.RepShutdown}),
			[][2]string{{"EHLO client.test", "250 "}, {from, "250 "}, {to, "421 4.7.0 Server closing connection"}},
			"NOQUEUE: milter-reject: RCPT from unknown[127.0.0.1]: 421 4.7.0 Server closing connection; from=<a@example.test> to=<b@example.test>"},
		{"reject an unknown command", on(milter.CmdUnknown, milter.Reply{Cmd: milter.RepReject}),
			[][2]string{{"EHLO client.test", "250 "}, {"XYZZY now", "550 5.7.1 Command rejected"}, {"NOOP", "250 "}},
			"NOQUEUE: milter-reject: UNKNOWN from unknown[127.0.0.1]: 550 5.7.1 Command rejected; proto=ESMTP helo=<client.test>"},
		{"reject at connect: 554 greeting, every MAIL refused", on(milter.CmdConnect, milter.Reply{Cmd: milter.RepReject}),
			[][2]string{{"", "554 mx.example.test ESMTP not accepting connections"}, {"EHLO client.test", "250 "}, {from, "550 5.7.1 Command rejected"}, {from, "550 5.7.1 Command rejected"}},
			"NOQUEUE: milter-reject: CONNECT from unknown[127.0.0.1]: 550 5.7.1 Command rejected; proto=SMTP"},
		{"tempfail at connect: 220, every MAIL refused", on(milter.CmdConnect, milter.Reply{Cmd: milter.RepTempfail}),
			[][2]string{{"EHLO client.test", "250 "}, {from, "451 4.7.1 Service unavailable - try again later"}},
			"NOQUEUE: milter-reject: CONNECT from unknown[127.0.0.1]: 451 4.7.1 Service unavailable - try again later; proto=SMTP"},
		{"accept at connect: no more events", on(milter.CmdConnect, milter.Reply{Cmd: milter.RepAccept}),
			[][2]string{{"EHLO client.test", "250 "}, {from, "250 "}, {to, "250 "}},
			"0000000001: client=unknown[127.0.0.1]"},
		{"hold at RCPT is logged", on(milter.CmdRcpt, milter.Reply{Cmd: milter.RepQuarantine, Text: "why"}, milter.Reply{Cmd: milter.RepContinue}),
			[][2]string{{"EHLO client.test", "250 "}, {from, "250 "}, {to, "250 2.1.5 Ok"}},
			"NOQUEUE: milter-hold: RCPT from unknown[127.0.0.1]: milter triggers HOLD action; from=<a@example.test> to=<b@example.test> proto=ESMTP helo=<client.test>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := miltertest.Start(t, tc.respond)
			s := smtptest.NewServer(t, "smtpd_milters = "+m.Name+"\n", nil)
			cl := dialGreet(t, s, tc.dialog)
			for _, d := range tc.dialog {
				if d[0] != "" {
					cl.cmd(d[0], d[1])
				}
			}
			if tc.log != "" {
				waitLog(t, s, tc.log)
			}
			if strings.HasPrefix(tc.name, "reject an unknown") {
				if e := m.WaitCmd(milter.CmdUnknown); string(e.Data) != "XYZZY\x00" {
					t.Errorf("unknown event %q, want the command name", e.Data)
				}
			}
			if strings.HasPrefix(tc.name, "accept at connect") {
				if c := m.Cmds(); !strings.Contains(c, "C") || strings.ContainsAny(c, "HMR") {
					t.Errorf("events after accept at connect: %q", c)
				}
			}
		})
	}
}

// The macros Postfix sends with each event, with its default lists.
func TestMilterMacros(t *testing.T) {
	m := miltertest.Start(t, nil)
	s := smtptest.NewServer(t, "smtpd_milters = "+m.Name+"\nmilter_macro_daemon_name = mx-daemon\nmail_version = 9.9\n"+
		"milter_macro_defaults = { auth_type = none yet }, {mail_host}=default.example, j=ignored\n", nil)
	cl := dial(t, s)
	cl.cmd("EHLO client.test", "250 ")
	cl.cmd("MAIL FROM:<a@example.test> SIZE=100", "250 ")
	cl.cmd("RCPT TO:<b@example.test>", "250 ")
	cl.cmd("RCPT TO:<c@example.test>", "250 ")
	cl.cmd("RSET", "250 ")
	cl.cmd("QUIT", "221 ")
	m.WaitCmd(milter.CmdQuit)
	got := map[byte][]miltertest.Event{}
	for _, e := range m.Events() {
		got[e.Cmd] = append(got[e.Cmd], e)
	}
	c := got[milter.CmdConnect][0]
	if c.Macros["j"] != "mx.example.test" || c.Macros["{daemon_name}"] != "mx-daemon" || c.Macros["v"] != "postern 9.9" ||
		c.Macros["{daemon_addr}"] != "127.0.0.1" || c.Macros["_"] != "unknown [127.0.0.1]" {
		t.Errorf("connect macros %q", c.Macros)
	}
	if host := strings.Split(string(c.Data), "\x00")[0]; host != "[127.0.0.1]" {
		t.Errorf("connect host %q, want [127.0.0.1]", host)
	}
	mail := got[milter.CmdMail][0]
	if a := mail.Args(); len(a) != 2 || a[0] != "<a@example.test>" || a[1] != "SIZE=100" || mail.Macros["{mail_addr}"] != "a@example.test" {
		t.Errorf("MAIL %q macros %q", a, mail.Macros)
	}
	if mail.Macros["{auth_type}"] != "none yet" || mail.Macros["{mail_host}"] != "default.example" {
		t.Errorf("milter_macro_defaults not applied: %q", mail.Macros)
	}
	if _, ok := mail.Macros["i"]; ok {
		t.Errorf("MAIL has a queue ID before the first recipient: %q", mail.Macros)
	}
	r := got[milter.CmdRcpt]
	if len(r) != 2 || r[0].Macros["{rcpt_addr}"] != "b@example.test" || r[1].Macros["i"] != "0000000001" {
		t.Errorf("RCPT events %+v", r)
	}
	if len(got[milter.CmdAbort]) != 1 {
		t.Errorf("RSET sent %d aborts, want 1: %q", len(got[milter.CmdAbort]), m.Cmds())
	}
}

// A milter that cannot be reached, times out or breaks the protocol
// stands for milter_default_action, with Postfix's warnings.
func TestMilterDefaultAction(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "inet:" + ln.Addr().String()
	ln.Close()
	hang := miltertest.Start(t, on(milter.CmdMail, miltertest.Hang))
	broken := miltertest.Start(t, nil)
	broken.Refuse = true
	for _, tc := range []struct {
		name, milter, action, greet, mail, warn string
	}{
		{"unreachable, tempfail", closed, "", "220 ", "451 4.7.1 Service unavailable - try again later", "connect to Milter service " + closed + ": Connection refused"},
		{"unreachable, accept", closed, "accept", "220 ", "250 ", "connect to Milter service " + closed + ": Connection refused"},
		{"unreachable, reject", closed, "reject", "554 mx.example.test ESMTP not accepting connections", "550 5.5.0 Service unavailable", "connect to Milter service"},
		{"unreachable, quarantine", closed, "quarantine", "220 ", "250 ", "milter-hold: CONNECT from unknown[127.0.0.1]: milter triggers HOLD action"},
		{"timeout, tempfail", hang.Name, "", "220 ", "451 4.7.1 ", "milter " + hang.Name + ": can't read SMFIC_MAIL reply packet header: Connection timed out"},
		{"protocol error, tempfail", broken.Name, "", "220 ", "451 4.7.1 ", "milter " + broken.Name + ": unexpected reply in initial handshake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := "smtpd_milters = " + tc.milter + "\nmilter_command_timeout = 1s\n"
			if tc.action != "" {
				conf += "milter_default_action = " + tc.action + "\n"
			}
			s := smtptest.NewServer(t, conf, nil)
			cl := dialGreet(t, s, [][2]string{{"", tc.greet}})
			cl.cmd("HELO client.test", "250 ")
			cl.cmd("MAIL FROM:<a@example.test>", tc.mail)
			waitLog(t, s, tc.warn)
		})
	}
	// shutdown: 421 instead of the greeting, and the session ends
	s := smtptest.NewServer(t, "smtpd_milters = "+closed+"\nmilter_default_action = shutdown\n", nil)
	c, err := net.Dial("tcp4", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := &client{t: t, c: c, br: bufio.NewReader(c)}
	cl.expect("421 mx.example.test Service unavailable - try again later")
	if _, err := cl.br.ReadString('\n'); err == nil {
		t.Error("session goes on after 421")
	}
}
