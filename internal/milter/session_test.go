package milter

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var bg = context.Background()

func mustVerdict(t *testing.T, what string, v Verdict, err error, want byte) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if v.Code != want {
		t.Fatalf("%s: verdict %v, want %q", what, v, want)
	}
}

// TestSessionTransaction runs one whole SMTP transaction: every event,
// macros, a rejected recipient, and modifications at end of body.
func TestSessionTransaction(t *testing.T) {
	mods := []Reply{
		{Cmd: RepAddHeader, Name: "X-Scanned", Value: "yes"},
		{Cmd: RepInsHeader, Index: 0, Name: "DKIM-Signature", Value: "v=1; d=example"},
		{Cmd: RepChgHeader, Index: 1, Name: "Subject", Value: "[tagged] hi"},
		{Cmd: RepDelRcpt, Text: "<b@example.org>"},
		{Cmd: RepAddRcpt, Text: "<archive@example.org>"},
		{Cmd: RepAddRcptPar, Text: "<c@example.org>", Args: "NOTIFY=NEVER"},
		{Cmd: RepChgFrom, Text: "<bounce@example.org>", Args: "SIZE=100"},
		{Cmd: RepReplBody, Body: []byte("new body\r\n")},
		{Cmd: RepQuarantine, Text: "looks odd"},
	}
	s := startFake(t, func(f *fake) {
		f.negotiate(6, ActAll, ProtoSkip)
		m := f.expect(CmdMacro)
		if want := "Cj\x00mx.example\x00{client_addr}\x00192.0.2.1\x00"; string(m.Data) != want {
			t.Errorf("connect macros %q, want %q", m.Data, want)
		}
		c := f.expect(CmdConnect)
		if want := "client.example\x004\x30\x39192.0.2.1\x00"; string(c.Data) != want {
			t.Errorf("connect %q, want %q", c.Data, want)
		}
		f.send(Reply{Cmd: RepContinue})
		f.expect(CmdHelo)
		f.send(Reply{Cmd: RepContinue})
		f.expect(CmdMacro)
		if p := f.expect(CmdMail); string(p.Data) != "<a@example.com>\x00SIZE=100\x00" {
			t.Errorf("mail %q", p.Data)
		}
		f.send(Reply{Cmd: RepContinue})
		f.expect(CmdRcpt)
		f.send(Reply{Cmd: RepReplyCode, Text: "550 5.7.1 not this one"})
		f.expect(CmdRcpt)
		f.send(Reply{Cmd: RepContinue})
		f.expect(CmdData)
		f.send(Reply{Cmd: RepContinue})
		if p := f.expect(CmdHeader); string(p.Data) != "Subject\x00hi\x00" {
			t.Errorf("header %q (leading space must go without HDR_LEADSPC)", p.Data)
		}
		f.send(Reply{Cmd: RepContinue})
		f.expect(CmdEOH)
		f.send(Reply{Cmd: RepContinue})
		if p := f.expect(CmdBody); string(p.Data) != "body\r\n" {
			t.Errorf("body %q", p.Data)
		}
		f.send(Reply{Cmd: RepContinue})
		f.expect(CmdMacro)
		f.expect(CmdEOB)
		f.send(Reply{Cmd: RepProgress})
		f.send(mods...)
		f.send(Reply{Cmd: RepAccept})
		f.expect(CmdQuit)
	})
	n, err := s.Negotiate(bg)
	if err != nil || n.Version != 6 || n.Actions != ActAll || !n.Has(ProtoSkip) {
		t.Fatalf("negotiate: %+v, %v", n, err)
	}
	v, err := s.Connect(bg, "client.example", FamilyInet, 12345, "192.0.2.1", []Macro{{"j", "mx.example"}, {"{client_addr}", "192.0.2.1"}})
	mustVerdict(t, "connect", v, err, RepContinue)
	v, err = s.Helo(bg, "client.example", nil)
	mustVerdict(t, "helo", v, err, RepContinue)
	v, err = s.Mail(bg, "<a@example.com>", []string{"SIZE=100"}, []Macro{{"i", "QID"}})
	mustVerdict(t, "mail", v, err, RepContinue)
	v, err = s.Rcpt(bg, "<b@example.org>", nil, nil)
	mustVerdict(t, "rcpt 1", v, err, RepReplyCode)
	if v.Text != "550 5.7.1 not this one" {
		t.Fatalf("rcpt reply text %q", v.Text)
	}
	v, err = s.Rcpt(bg, "<c@example.org>", nil, nil)
	mustVerdict(t, "rcpt 2 (a rejected recipient does not end the message)", v, err, RepContinue)
	v, err = s.Data(bg, nil)
	mustVerdict(t, "data", v, err, RepContinue)
	v, err = s.Header(bg, "Subject", " hi")
	mustVerdict(t, "header", v, err, RepContinue)
	v, err = s.EndOfHeaders(bg, nil)
	mustVerdict(t, "eoh", v, err, RepContinue)
	v, err = s.Body(bg, []byte("body\r\n"))
	mustVerdict(t, "body", v, err, RepContinue)
	var got []Reply
	v, err = s.EndOfBody(bg, []Macro{{"i", "QID"}}, func(r Reply) error { got = append(got, r); return nil })
	mustVerdict(t, "eob", v, err, RepAccept)
	if !reflect.DeepEqual(got, mods) {
		t.Fatalf("modifications\n got %+v\nwant %+v", got, mods)
	}
	if err := s.Quit(bg); err != nil {
		t.Fatal(err)
	}
}

// TestSessionVerdicts: every verdict kind at MAIL comes back as is.
func TestSessionVerdicts(t *testing.T) {
	for _, r := range []Reply{
		{Cmd: RepAccept}, {Cmd: RepContinue}, {Cmd: RepReject}, {Cmd: RepTempfail},
		{Cmd: RepDiscard}, {Cmd: RepReplyCode, Text: "451 4.7.1 later"},
		{Cmd: RepShutdown}, {Cmd: RepConnFail},
	} {
		t.Run(string(r.Cmd), func(t *testing.T) {
			s := startFake(t, func(f *fake) {
				f.negotiate(6, 0, ProtoNoConnect|ProtoNoHelo)
				f.expect(CmdMail)
				f.send(r)
			})
			if _, err := s.Negotiate(bg); err != nil {
				t.Fatal(err)
			}
			v, err := s.Mail(bg, "<a@b>", nil, nil)
			if err != nil || v != (Verdict{Code: r.Cmd, Text: r.Text}) {
				t.Fatalf("verdict %v, %v; want %q", v, err, r.Cmd)
			}
		})
	}
}

// TestSessionAcceptConnection: after accept at connect no event is sent
// and every later event answers accept; QUIT still goes out.
func TestSessionAcceptConnection(t *testing.T) {
	s := startFake(t, func(f *fake) {
		f.negotiate(6, 0, 0)
		f.expect(CmdConnect)
		f.send(Reply{Cmd: RepAccept})
		f.expect(CmdQuit)
	})
	s.Negotiate(bg)
	v, err := s.Connect(bg, "h", FamilyUnknown, 0, "", nil)
	mustVerdict(t, "connect", v, err, RepAccept)
	v, err = s.Helo(bg, "h", nil)
	mustVerdict(t, "helo", v, err, RepAccept)
	v, err = s.Mail(bg, "<>", nil, nil)
	mustVerdict(t, "mail", v, err, RepAccept)
	v, err = s.EndOfBody(bg, nil, nil)
	mustVerdict(t, "eob", v, err, RepAccept)
	if err := s.Quit(bg); err != nil {
		t.Fatal(err)
	}
}

// TestSessionRejectConnection: a refused connection answers every
// later event with the same reply.
func TestSessionRejectConnection(t *testing.T) {
	s := startFake(t, func(f *fake) {
		f.negotiate(6, 0, 0)
		f.expect(CmdConnect)
		f.send(Reply{Cmd: RepReplyCode, Text: "554 5.7.1 go away"})
		f.expect(CmdQuit)
	})
	s.Negotiate(bg)
	v, err := s.Connect(bg, "h", FamilyInet6, 25, "2001:db8::1", nil)
	mustVerdict(t, "connect", v, err, RepReplyCode)
	v, err = s.Rcpt(bg, "<x@y>", nil, nil)
	if err != nil || v.Text != "554 5.7.1 go away" {
		t.Fatalf("rcpt after refused connection: %v, %v", v, err)
	}
	s.Quit(bg)
}

// TestSessionAcceptMessage: accept at MAIL skips the rest of that
// message; ABORT and a new MAIL bring the events back.
func TestSessionAcceptMessage(t *testing.T) {
	s := startFake(t, func(f *fake) {
		f.negotiate(6, 0, ProtoNoConnect)
		f.expect(CmdMail)
		f.send(Reply{Cmd: RepAccept})
		f.expect(CmdAbort)
		f.expect(CmdMail)
		f.send(Reply{Cmd: RepContinue})
		f.expect(CmdRcpt)
		f.send(Reply{Cmd: RepDiscard})
		f.expect(CmdMail) // a new MAIL without ABORT starts afresh too
		f.send(Reply{Cmd: RepContinue})
	})
	s.Negotiate(bg)
	v, err := s.Mail(bg, "<a@b>", nil, nil)
	mustVerdict(t, "mail 1", v, err, RepAccept)
	v, err = s.Rcpt(bg, "<c@d>", nil, nil)
	mustVerdict(t, "rcpt 1 (not sent)", v, err, RepAccept)
	v, err = s.Body(bg, []byte("x"))
	mustVerdict(t, "body 1 (not sent)", v, err, RepAccept)
	if err := s.Abort(bg); err != nil {
		t.Fatal(err)
	}
	v, err = s.Mail(bg, "<a@b>", nil, nil)
	mustVerdict(t, "mail 2", v, err, RepContinue)
	v, err = s.Rcpt(bg, "<c@d>", nil, nil)
	mustVerdict(t, "rcpt 2", v, err, RepDiscard)
	v, err = s.Data(bg, nil)
	mustVerdict(t, "data 2 (discarded message: not sent)", v, err, RepAccept)
	v, err = s.Mail(bg, "<e@f>", nil, nil)
	mustVerdict(t, "mail 3", v, err, RepContinue)
}

// TestSessionNoEventNoReply: the milter's No* flags keep events off
// the wire (their macros still go, as in Postfix), NR* flags mean no
// reply is read, and HDR_LEADSPC keeps a header's leading space.
func TestSessionNoEventNoReply(t *testing.T) {
	s := startFake(t, func(f *fake) {
		f.negotiate(6, 0, ProtoNoConnect|ProtoNoHelo|ProtoNRMail|ProtoNRHeader|ProtoHdrLeadSpc|ProtoNoEOH|ProtoNoBody)
		f.expect(CmdMacro) // connect macros, connect itself not sent
		if p := f.expect(CmdMail); string(p.Data) != "<a@b>\x00" {
			t.Errorf("mail %q", p.Data)
		}
		// no reply to MAIL
		if p := f.expect(CmdHeader); string(p.Data) != "X\x00 v\x00" {
			t.Errorf("header %q, want the leading space kept", p.Data)
		}
		f.expect(CmdEOB)
		f.send(Reply{Cmd: RepContinue})
	})
	s.Negotiate(bg)
	v, err := s.Connect(bg, "h", FamilyInet, 1, "192.0.2.1", []Macro{{"j", "mx"}})
	mustVerdict(t, "connect", v, err, RepContinue)
	v, err = s.Helo(bg, "h", nil)
	mustVerdict(t, "helo", v, err, RepContinue)
	v, err = s.Mail(bg, "<a@b>", nil, nil)
	mustVerdict(t, "mail", v, err, RepContinue)
	v, err = s.Header(bg, "X", " v")
	mustVerdict(t, "header", v, err, RepContinue)
	v, err = s.EndOfHeaders(bg, nil)
	mustVerdict(t, "eoh", v, err, RepContinue)
	v, err = s.Body(bg, []byte("body"))
	mustVerdict(t, "body", v, err, RepContinue)
	v, err = s.EndOfBody(bg, nil, nil)
	mustVerdict(t, "eob", v, err, RepContinue)
}

// TestSessionOldVersion: a version 2 milter is never sent DATA or
// UNKNOWN, which its libmilter would not understand.
func TestSessionOldVersion(t *testing.T) {
	s := startFake(t, func(f *fake) {
		f.negotiate(2, 0, ProtoNoConnect|ProtoNoHelo|ProtoNoMail|ProtoNoRcpt)
		f.expect(CmdEOH)
		f.send(Reply{Cmd: RepContinue})
	})
	s.Negotiate(bg)
	v, err := s.Data(bg, []Macro{{"i", "Q"}})
	mustVerdict(t, "data", v, err, RepContinue)
	v, err = s.Unknown(bg, "XFOO", nil)
	mustVerdict(t, "unknown", v, err, RepContinue)
	v, err = s.EndOfHeaders(bg, nil)
	mustVerdict(t, "eoh", v, err, RepContinue)
}

// TestSessionSkip: after SMFIR_SKIP no more body chunks are sent.
func TestSessionSkip(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), BodyChunk/16*3) // 3 chunks
	s := startFake(t, func(f *fake) {
		f.negotiate(6, 0, ProtoNoConnect|ProtoSkip)
		if p := f.expect(CmdBody); len(p.Data) != BodyChunk {
			t.Errorf("first chunk %d bytes", len(p.Data))
		}
		f.send(Reply{Cmd: RepSkip})
		f.expect(CmdEOB) // not the second chunk
		f.send(Reply{Cmd: RepContinue})
	})
	s.Negotiate(bg)
	v, err := s.Body(bg, body)
	mustVerdict(t, "body", v, err, RepContinue)
	v, err = s.Body(bg, []byte("more"))
	mustVerdict(t, "body after skip", v, err, RepContinue)
	v, err = s.EndOfBody(bg, nil, nil)
	mustVerdict(t, "eob", v, err, RepContinue)
}

// TestSessionProgress: each SMFIR_PROGRESS re-arms the deadline.
func TestSessionProgress(t *testing.T) {
	mta, milter := net.Pipe()
	cc := &countConn{Conn: mta}
	s := NewSession(cc)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f := &fake{t: t, c: milter}
		f.negotiate(6, 0, ProtoNoConnect)
		f.expect(CmdEOB)
		f.send(Reply{Cmd: RepProgress}, Reply{Cmd: RepProgress}, Reply{Cmd: RepProgress}, Reply{Cmd: RepAccept})
	}()
	defer func() { mta.Close(); milter.Close(); <-done }()
	s.Negotiate(bg)
	before := cc.count()
	v, err := s.EndOfBody(bg, nil, nil)
	mustVerdict(t, "eob", v, err, RepAccept)
	// one deadline for the command, one per progress (the context
	// never fires here, so no extra SetDeadline from it).
	if got := cc.count() - before; got != 4 {
		t.Fatalf("%d SetDeadline calls during end of body, want 4", got)
	}
}

// TestSessionTimeout: a milter that does not answer in time is an
// error, and the session stays failed.
func TestSessionTimeout(t *testing.T) {
	got := make(chan struct{})
	s := startFake(t, func(f *fake) {
		f.negotiate(6, 0, 0)
		f.expect(CmdConnect)
		close(got)
		f.recv() // until the MTA gives up and closes
	})
	s.CommandTimeout = 50 * time.Millisecond
	s.Negotiate(bg)
	_, err := s.Connect(bg, "h", FamilyUnknown, 0, "", nil)
	<-got
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err %v, want a deadline error", err)
	}
	if _, err2 := s.Helo(bg, "h", nil); err2 != err {
		t.Fatalf("after timeout: %v, want the same error", err2)
	}
}

// TestSessionContextCancel: cancelling the context ends a wait at once.
func TestSessionContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(bg)
	s := startFake(t, func(f *fake) {
		f.negotiate(6, 0, 0)
		f.expect(CmdConnect)
		cancel()
		f.recv()
	})
	s.CommandTimeout = time.Minute
	s.Negotiate(bg)
	start := time.Now()
	_, err := s.Connect(ctx, "h", FamilyUnknown, 0, "", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("cancel took %v: the wait ran to the command timeout", d)
	}
}

// TestSessionMisbehaving: protocol violations are errors that poison
// the session.
func TestSessionMisbehaving(t *testing.T) {
	tests := []struct {
		name    string
		actions uint32
		reply   []byte
		at      string // "mail" or "eob"
		want    string
	}{
		{"oversized", 0, []byte{0x00, 0x20, 0x00, 0x00, 'c'}, "mail", "too large"},
		{"zero-length", 0, []byte{0, 0, 0, 0}, "mail", "bad packet length"},
		{"unknown-reply", 0, encodeReply(Reply{Cmd: 'Z'}).Bytes(), "mail", "unknown reply"},
		{"truncated", 0, []byte{0, 0, 0, 20, 'y', '5', '5'}, "mail", "truncated"},
		{"modification-at-mail", ActAll, encodeReply(Reply{Cmd: RepAddHeader, Name: "X", Value: "y"}).Bytes(), "mail", "modification in reply to event"},
		{"skip-at-mail", 0, encodeReply(Reply{Cmd: RepSkip}).Bytes(), "mail", "skip in reply"},
		{"bad-replycode", 0, encodeReply(Reply{Cmd: RepReplyCode, Text: "250 fine"}).Bytes(), "mail", "malformed SMTP reply"},
		{"optneg-at-mail", 0, optnegReply(6, 0, 0).Bytes(), "mail", "unknown reply"},
		{"not-negotiated", ActAddHeaders, encodeReply(Reply{Cmd: RepReplBody, Body: []byte("x")}).Bytes(), "eob", "not negotiated"},
		{"skip-at-eob", 0, encodeReply(Reply{Cmd: RepSkip}).Bytes(), "eob", "skip in reply to end of body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startFake(t, func(f *fake) {
				f.negotiate(6, tc.actions, ProtoNoConnect)
				if tc.at == "mail" {
					f.expect(CmdMail)
				} else {
					f.expect(CmdEOB)
				}
				f.raw(tc.reply) // then close: a truncated packet ends in EOF
			})
			if _, err := s.Negotiate(bg); err != nil {
				t.Fatal(err)
			}
			var err error
			if tc.at == "mail" {
				_, err = s.Mail(bg, "<a@b>", nil, nil)
			} else {
				_, err = s.EndOfBody(bg, nil, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if s.Err() != err {
				t.Fatalf("session not poisoned: %v", s.Err())
			}
			if _, err2 := s.Rcpt(bg, "<c@d>", nil, nil); err2 != err {
				t.Fatalf("later event: %v", err2)
			}
		})
	}
}

// TestSessionNegotiateRefused: a milter asking for more than offered.
func TestSessionNegotiateRefused(t *testing.T) {
	s := startFake(t, func(f *fake) {
		f.negotiate(6, ActAll, 0)
		f.recv()
	})
	s.Offer.Actions = ActAddHeaders
	if _, err := s.Negotiate(bg); err == nil || !strings.Contains(err.Error(), "request mask") {
		t.Fatalf("err %v", err)
	}
}

// TestSessionQuitNC: QUIT_NC keeps the connection for a new Connect.
func TestSessionQuitNC(t *testing.T) {
	s := startFake(t, func(f *fake) {
		f.negotiate(6, 0, 0)
		f.expect(CmdConnect)
		f.send(Reply{Cmd: RepAccept})
		f.expect(CmdQuitNC)
		f.expect(CmdConnect)
		f.send(Reply{Cmd: RepContinue})
	})
	s.Negotiate(bg)
	v, err := s.Connect(bg, "a", FamilyUnknown, 0, "", nil)
	mustVerdict(t, "connect 1", v, err, RepAccept)
	if err := s.QuitNC(bg); err != nil {
		t.Fatal(err)
	}
	v, err = s.Connect(bg, "b", FamilyUnknown, 0, "", nil)
	mustVerdict(t, "connect 2", v, err, RepContinue)
}

// TestDial reaches a milter over loopback TCP and reports a refused one.
func TestDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
	}()
	c, err := Dial(bg, "tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	ln.Close()
	if _, err := Dial(bg, "tcp", addr, time.Second); err == nil || !strings.Contains(err.Error(), "milter: connect") {
		t.Fatalf("dial to closed port: %v", err)
	}
}

// TestSessionNotNegotiated: events before Negotiate are refused, not
// sent to a milter that expects OPTNEG first.
func TestSessionNotNegotiated(t *testing.T) {
	s := startFake(t, func(f *fake) {})
	if _, err := s.Mail(bg, "<a@b>", nil, nil); !errors.Is(err, errNotNegotiated) {
		t.Fatalf("mail: %v", err)
	}
	if _, err := s.EndOfBody(bg, nil, nil); !errors.Is(err, errNotNegotiated) {
		t.Fatalf("eob: %v", err)
	}
}

// TestSessionHeloDecidesConnection: as Postfix's milter8, a reject at
// HELO stands for every later event of the connection, and a
// quarantine request before an event's verdict is reported once.
func TestSessionHeloDecidesConnection(t *testing.T) {
	s := startFake(t, func(f *fake) {
		f.negotiate(6, ActQuarantine, 0)
		f.expect(CmdConnect)
		f.send(Reply{Cmd: RepQuarantine, Text: "why"}, Reply{Cmd: RepContinue})
		f.expect(CmdHelo)
		f.send(Reply{Cmd: RepTempfail})
		f.expect(CmdQuit)
	})
	s.Negotiate(bg)
	v, err := s.Connect(bg, "h", FamilyInet, 25, "192.0.2.1", nil)
	mustVerdict(t, "connect", v, err, RepContinue)
	if !s.Quarantined() || s.Quarantined() {
		t.Error("quarantine at connect not reported exactly once")
	}
	v, err = s.Helo(bg, "h", nil)
	mustVerdict(t, "helo", v, err, RepTempfail)
	v, err = s.Mail(bg, "<a@b>", nil, nil)
	mustVerdict(t, "mail after a refused HELO", v, err, RepTempfail)
	s.Quit(bg)
}
