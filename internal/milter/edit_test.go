package milter_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/milter"
	"github.com/postern-mta/postern/internal/milter/miltertest"
)

func repeat(n int, r milter.Reply) []milter.Reply {
	rs := make([]milter.Reply, n)
	for i := range rs {
		rs[i] = r
	}
	return rs
}

// A milter cannot make us hold more than Limits at end of message:
// past one it broke the protocol (milter_default_action, logged).
func TestEditLimits(t *testing.T) {
	addRcpt := milter.Reply{Cmd: milter.RepAddRcpt, Text: "<c@example.test>"}
	addHdr := milter.Reply{Cmd: milter.RepAddHeader, Name: "X-Spam", Value: "yes"}
	chunk := milter.Reply{Cmd: milter.RepReplBody, Body: []byte(strings.Repeat("x", 60000))}
	bigHdr := milter.Reply{Cmd: milter.RepAddHeader, Name: "X-Big", Value: strings.Repeat("h", 60000)}
	for _, tc := range []struct {
		name string
		mods []milter.Reply
		lim  milter.Limits
		warn string // "": within the limits
	}{
		{"1000 recipients", repeat(1000, addRcpt), milter.Limits{}, ""},
		{"1001 recipients", repeat(1001, addRcpt), milter.Limits{}, "more than 1000 recipient changes"},
		{"recipients past smtpd_recipient_limit", repeat(11, addRcpt), milter.Limits{Recipients: 10}, "more than 10 recipient changes"},
		{"1001 headers", repeat(1001, addHdr), milter.Limits{}, "more than 1000 header changes"},
		{"header bytes", repeat(2, bigHdr), milter.Limits{}, "header changes of more than 102400 bytes"},
		{"body within message_size_limit", repeat(2, chunk), milter.Limits{BodySize: 120000}, ""},
		{"body past message_size_limit", repeat(3, chunk), milter.Limits{BodySize: 120000}, "replacement body larger than 120000 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := miltertest.Start(t, func(e miltertest.Event) []milter.Reply {
				if e.Cmd == milter.CmdEOB {
					return append(tc.mods, milter.Reply{Cmd: milter.RepAccept})
				}
				return nil
			})
			s, l := localStage(t, m)
			s.Limits = tc.lim
			msg := localMessage(t)
			v := s.Apply(context.Background(), msg)
			if tc.warn == "" {
				if v.Action != cleanup.Continue {
					t.Fatalf("verdict %+v; log %s", v, l.String())
				}
				return
			}
			if v.Action != cleanup.Reject || !strings.HasPrefix(v.Reply, "451 4.7.1") {
				t.Errorf("verdict %+v, want milter_default_action (tempfail)", v)
			}
			if !strings.Contains(l.String(), "milter "+m.Name+": "+tc.warn) {
				t.Errorf("log lacks %q:\n%s", tc.warn, l.String())
			}
		})
	}
}

// A replacement body is written to a spool as it arrives, its LF line
// ends made CRLF also across chunks; bodies of several chunks join.
func TestEditReplaceBody(t *testing.T) {
	big := strings.Repeat("line\n", 3*cleanup.MemLimit/5)
	m := miltertest.Start(t, func(e miltertest.Event) []milter.Reply {
		if e.Cmd == milter.CmdEOB {
			return []milter.Reply{{Cmd: milter.RepReplBody, Body: []byte("a\r")}, {Cmd: milter.RepReplBody, Body: []byte("\nb\nc\r\n")},
				{Cmd: milter.RepReplBody, Body: []byte(big)}, {Cmd: milter.RepContinue}}
		}
		return nil
	})
	s, _ := localStage(t, m)
	msg := localMessage(t)
	if v := s.Apply(context.Background(), msg); v.Action != cleanup.Continue {
		t.Fatalf("verdict %+v", v)
	}
	b, _ := io.ReadAll(msg.Body())
	if want := "a\r\nb\r\nc\r\n" + strings.ReplaceAll(big, "\n", "\r\n"); string(b) != want {
		t.Errorf("body %.40q… (%d bytes), want %.40q… (%d bytes)", b, len(b), want, len(want))
	}
}

// Addresses a milter adds or changes are rewritten as cleanup rewrites
// (<user> is user@$myorigin, the given form kept for orig_to=); ESMTP
// arguments, not honoured, are logged; a bad address is a protocol
// error.
func TestEditAddresses(t *testing.T) {
	o := address.DefaultResolveOptions("mx.example.test", nil)
	o.MyOrigin = "origin.example"
	canon := func(a address.Address) address.Address { return address.Canonical(a, o) }
	run := func(t *testing.T, mods ...milter.Reply) (*cleanup.Message, cleanup.Verdict, string) {
		m := miltertest.Start(t, func(e miltertest.Event) []milter.Reply {
			if e.Cmd == milter.CmdEOB {
				return append(mods, milter.Reply{Cmd: milter.RepContinue})
			}
			return nil
		})
		s, l := localStage(t, m)
		s.Canonical = canon
		msg := localMessage(t)
		v := s.Apply(context.Background(), msg)
		return msg, v, l.String()
	}
	msg, v, log := run(t,
		milter.Reply{Cmd: milter.RepAddRcpt, Text: "<bob>"},
		milter.Reply{Cmd: milter.RepAddRcptPar, Text: "<c@example.test>", Args: "NOTIFY=NEVER"},
		milter.Reply{Cmd: milter.RepDelRcpt, Text: "<b@example.test>"},
		milter.Reply{Cmd: milter.RepChgFrom, Text: "<alice>", Args: "SIZE=10"})
	if v.Action != cleanup.Continue {
		t.Fatalf("verdict %+v", v)
	}
	rs := msg.Env.Recipients
	if len(rs) != 2 || rs[0].Addr != "bob@origin.example" || rs[0].Orig != "bob" || rs[1].Addr != "c@example.test" || rs[1].Orig != "" {
		t.Errorf("recipients %+v", rs)
	}
	if msg.Env.Sender != "alice@origin.example" {
		t.Errorf("sender %q", msg.Env.Sender)
	}
	for _, w := range []string{`SMFIR_ADDRCPT_PAR <c@example.test>: ignoring ESMTP arguments "NOTIFY=NEVER"`, `SMFIR_CHGFROM <alice>: ignoring ESMTP arguments "SIZE=10"`} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	if msg, _, _ := run(t, milter.Reply{Cmd: milter.RepChgFrom, Text: "<>"}); msg.Env.Sender != "" {
		t.Errorf("null sender: %q", msg.Env.Sender)
	}
	if _, v, log := run(t, milter.Reply{Cmd: milter.RepAddRcpt, Text: "<a b@c\r\nd>"}); v.Action != cleanup.Reject || !strings.Contains(log, "bad address syntax") {
		t.Errorf("bad address: %+v, log %s", v, log)
	}
}
