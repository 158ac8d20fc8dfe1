package smtpd_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/milter"
	"github.com/postern-mta/postern/internal/milter/miltertest"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// At end of message a milter sees the header, the body and the end of
// message with its macros, and its modifications are what is queued.
func TestMilterEndOfMessageEdits(t *testing.T) {
	m := miltertest.Start(t, on(milter.CmdEOB,
		milter.Reply{Cmd: milter.RepProgress},
		milter.Reply{Cmd: milter.RepAddHeader, Name: "X-Added", Value: "yes\n\tfolded"},
		milter.Reply{Cmd: milter.RepInsHeader, Index: 0, Name: "X-Top", Value: "first"},
		milter.Reply{Cmd: milter.RepChgHeader, Index: 1, Name: "Subject", Value: "changed"},
		milter.Reply{Cmd: milter.RepChgHeader, Index: 1, Name: "X-Remove", Value: ""},
		milter.Reply{Cmd: milter.RepAddRcpt, Text: "<c@example.test>"},
		milter.Reply{Cmd: milter.RepDelRcpt, Text: "<b@mx.example.test>"},
		milter.Reply{Cmd: milter.RepChgFrom, Text: "<new@example.test>"},
		milter.Reply{Cmd: milter.RepReplBody, Body: []byte("new body\n")},
		milter.Reply{Cmd: milter.RepAccept}))
	s := smtptest.NewServerWith(t, "smtpd_milters = "+m.Name+"\n", smtptest.Options{SpoolDir: t.TempDir()})
	cl := dial(t, s)
	cl.cmd("EHLO client.example.test", "250 ")
	cl.sendMessage(false, "Subject: test\r\nX-Remove: x\r\n\r\nhello\r\n", "250 2.0.0 Ok: queued as ")
	msgs := s.Queue.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages queued", len(msgs))
	}
	env := msgs[0].Envelope
	if env.Sender != "new@example.test" || len(env.Recipients) != 1 || env.Recipients[0].Addr != "c@example.test" {
		t.Errorf("envelope from=%q to=%+v", env.Sender, env.Recipients)
	}
	got := string(msgs[0].Body)
	if !strings.HasPrefix(got, "X-Top: first\r\nReceived: from client.example.test") ||
		!strings.HasSuffix(got, "Subject: changed\r\nX-Added: yes\r\n\tfolded\r\n\r\nnew body\r\n") || strings.Contains(got, "X-Remove") {
		t.Errorf("queued %q", got)
	}
	var hdrs []string
	body := ""
	for _, e := range m.Events() {
		switch e.Cmd {
		case milter.CmdHeader:
			hdrs = append(hdrs, e.Args()[0])
		case milter.CmdBody:
			body += string(e.Data)
		case milter.CmdEOB:
			if e.Macros["i"] != "0000000001" {
				t.Errorf("end of message macros %q", e.Macros)
			}
		}
	}
	if strings.Join(hdrs, ",") != "Received,Subject,X-Remove" || body != "hello\r\n" || !strings.Contains(m.Cmds(), "LLLNBE") {
		t.Errorf("milter saw headers %q body %q events %q", hdrs, body, m.Cmds())
	}
}

// Every verdict at end of message: Postfix's reply and cleanup's line;
// a hold or discard asked for at RCPT or MAIL applies to the message.
func TestMilterEndOfMessageVerdicts(t *testing.T) {
	const tail = "; from=<a@example.test> to=<b@mx.example.test> proto=ESMTP helo=<client.example.test>"
	const client = "unknown[127.0.0.1]"
	for _, tc := range []struct {
		name    string
		respond func(miltertest.Event) []milter.Reply
		reply   string
		queue   string // "": nothing queued
		log     string
	}{
		{"reject", on(milter.CmdEOB, milter.Reply{Cmd: milter.RepReject}), "550 5.7.1 Command rejected", "",
			"0000000001: milter-reject: END-OF-MESSAGE from " + client + ": 5.7.1 Command rejected" + tail},
		{"tempfail", on(milter.CmdEOB, milter.Reply{Cmd: milter.RepTempfail}), "451 4.7.1 Service unavailable - try again later", "",
			"0000000001: milter-reject: END-OF-MESSAGE from " + client + ": 4.7.1 Service unavailable - try again later" + tail},
		{"replycode", on(milter.CmdEOB, milter.Reply{Cmd: milter.RepReplyCode, Text: "554 5.7.1 Spam message rejected"}), "554 5.7.1 Spam message rejected", "",
			"0000000001: milter-reject: END-OF-MESSAGE from " + client + ": 5.7.1 Spam message rejected" + tail},
		{"reject at end of headers", on(milter.CmdEOH, milter.Reply{Cmd: milter.RepReject}), "550 5.7.1 Command rejected", "", ""},
		{"discard", on(milter.CmdEOB, milter.Reply{Cmd: milter.RepDiscard}), "250 2.0.0 Ok: ", "",
			"0000000001: milter-discard: END-OF-MESSAGE from " + client + ": milter triggers DISCARD action" + tail},
		{"quarantine", on(milter.CmdEOB, milter.Reply{Cmd: milter.RepQuarantine, Text: "suspect"}, milter.Reply{Cmd: milter.RepContinue}),
			"250 2.0.0 Ok: ", queue.Hold, "0000000001: milter-hold: END-OF-MESSAGE from " + client + ": milter triggers HOLD action" + tail},
		{"hold at RCPT", on(milter.CmdRcpt, milter.Reply{Cmd: milter.RepQuarantine, Text: "suspect"}, milter.Reply{Cmd: milter.RepContinue}),
			"250 2.0.0 Ok: ", queue.Hold, "milter-hold: RCPT from " + client},
		{"hold at RCPT and at end of message", func(e miltertest.Event) []milter.Reply {
			if e.Cmd == milter.CmdRcpt || e.Cmd == milter.CmdEOB {
				return []milter.Reply{{Cmd: milter.RepQuarantine, Text: "suspect"}, {Cmd: milter.RepContinue}}
			}
			return nil
		}, "250 2.0.0 Ok: ", queue.Hold, "milter-hold: RCPT from " + client},
		{"discard at MAIL", on(milter.CmdMail, milter.Reply{Cmd: milter.RepDiscard}), "250 2.0.0 Ok: ", "",
			"NOQUEUE: milter-discard: MAIL from " + client},
		{"body skipped", on(milter.CmdBody, milter.Reply{Cmd: milter.RepSkip}), "250 2.0.0 Ok: ", queue.Incoming, ""},
		{"accept", on(milter.CmdEOB, milter.Reply{Cmd: milter.RepAccept}), "250 2.0.0 Ok: ", queue.Incoming, ""},
		{"shutdown", on(milter.CmdEOB, milter.Reply{Cmd: milter.RepShutdown}), "421 4.7.0 Server closing connection", "",
			"0000000001: milter-reject: END-OF-MESSAGE from " + client + ": 4.7.0 Server closing connection" + tail},
	} {
		for _, bdat := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s bdat=%v", tc.name, bdat), func(t *testing.T) {
				m := miltertest.Start(t, tc.respond)
				s := smtptest.NewServerWith(t, "smtpd_milters = "+m.Name+"\n", smtptest.Options{SpoolDir: t.TempDir()})
				cl := dial(t, s)
				cl.cmd("EHLO client.example.test", "250 ")
				cl.sendMessage(bdat, "Subject: test\r\n\r\n"+strings.Repeat("body line\r\n", 10000), tc.reply)
				msgs := s.Queue.Messages()
				switch {
				case tc.queue == "" && len(msgs) != 0:
					t.Errorf("%d messages queued, want none", len(msgs))
				case tc.queue != "" && (len(msgs) != 1 || msgs[0].Queue != tc.queue):
					t.Errorf("queued %d messages (%+v), want one in %s", len(msgs), msgs, tc.queue)
				}
				if tc.log != "" {
					waitLog(t, s, tc.log)
				}
				// a hold or discard is logged once, as Postfix: at the
				// command, or at end of message (the reply came after)
				for _, a := range []string{"milter-hold", "milter-discard"} {
					if n := strings.Count(s.Logged(), a); n > 1 {
						t.Errorf("%d %s lines:\n%s", n, a, s.Logged())
					}
				}
				if strings.HasPrefix(tc.reply, "421") {
					if l, err := cl.br.ReadString('\n'); err == nil {
						t.Errorf("the session goes on after 421: %q", l)
					}
					return
				}
				// the session goes on, the milter sees the next message
				m.SetRespond(nil)
				cl.cmd("RSET", "250 ")
				cl.sendMessage(bdat, "Subject: next\r\n\r\nnext\r\n", "250 2.0.0 Ok: ")
			})
		}
	}
}
