package milter_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/milter"
	"github.com/postern-mta/postern/internal/milter/miltertest"
	"github.com/postern-mta/postern/internal/queue"
)

// logLines keeps log messages.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logLines) WithGroup(string) slog.Handler            { return l }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(r.Message + "\n")
	return nil
}
func (l *logLines) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func localMessage(t *testing.T) *cleanup.Message {
	t.Helper()
	sp := cleanup.NewSpool(t.TempDir())
	io.WriteString(sp, "From: root@mx.example.test\r\nSubject: local\r\n\r\nhello\r\n")
	env := &queue.Envelope{ID: "4ABC", Sender: "root@mx.example.test", Recipients: []queue.Recipient{{Addr: "b@example.test"}}}
	m, err := cleanup.NewMessage(env, cleanup.Origin{Local: true}, sp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func localStage(t *testing.T, m *miltertest.Server) (*milter.LocalStage, *logLines) {
	specs, err := milter.ParseList([]string{m.Name}, milter.DefaultSettings(), "")
	if err != nil {
		t.Fatal(err)
	}
	s := &milter.LocalStage{Specs: specs, Macros: milter.DefaultMacroLists(), Hostname: "mx.example.test", DaemonName: "mx.example.test", V: "postern 1"}
	l := &logLines{}
	s.SetLog(slog.New(l))
	return s, l
}

// non_smtpd_milters: a local submission goes through the whole dialog,
// from localhost [127.0.0.1] as Postfix's cleanup pretends, and the
// milter's edits and verdict apply.
func TestLocalStage(t *testing.T) {
	m := miltertest.Start(t, func(e miltertest.Event) []milter.Reply {
		if e.Cmd == milter.CmdEOB {
			return []milter.Reply{{Cmd: milter.RepInsHeader, Index: 0, Name: "DKIM-Signature", Value: "v=1; a=rsa-sha256;\n\tb=xyz"}, {Cmd: milter.RepAccept}}
		}
		return nil
	})
	s, _ := localStage(t, m)
	msg := localMessage(t)
	if v := s.Apply(context.Background(), msg); v.Action != cleanup.Continue {
		t.Fatalf("verdict %+v", v)
	}
	if got := string(msg.Header.Bytes()); !strings.HasPrefix(got, "DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=xyz\r\nFrom: root@") {
		t.Errorf("header %q", got)
	}
	m.WaitCmd(milter.CmdQuit)
	if c := m.Cmds(); c != "OCHMRTLLNBEQ" {
		t.Errorf("events %q, want OCHMRTLLNBEQ", c)
	}
	ev := m.Events()
	if host := ev[1].Args()[0]; host != "localhost" || ev[1].Macros["_"] != "localhost [127.0.0.1]" || ev[1].Macros["j"] != "mx.example.test" {
		t.Errorf("connect %q macros %q", ev[1].Data, ev[1].Macros)
	}
	if ev[2].Args()[0] != "localhost" || ev[3].Args()[0] != "<root@mx.example.test>" || ev[4].Args()[0] != "<b@example.test>" ||
		ev[3].Macros["i"] != "4ABC" || ev[4].Macros["{rcpt_addr}"] != "b@example.test" {
		t.Errorf("helo/mail/rcpt %q %q %q %q", ev[2].Data, ev[3].Data, ev[4].Data, ev[4].Macros)
	}
}

func TestLocalStageVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cmd    byte
		reply  milter.Reply
		action cleanup.Action
		smtp   string
	}{
		{"reject at RCPT", milter.CmdRcpt, milter.Reply{Cmd: milter.RepReject}, cleanup.Reject, "550 5.7.1 Command rejected"},
		{"replycode at end", milter.CmdEOB, milter.Reply{Cmd: milter.RepReplyCode, Text: "554 5.7.1 spam"}, cleanup.Reject, "554 5.7.1 spam"},
		{"tempfail at DATA", milter.CmdData, milter.Reply{Cmd: milter.RepTempfail}, cleanup.Reject, "451 4.7.1 Service unavailable - try again later"},
		{"discard", milter.CmdEOB, milter.Reply{Cmd: milter.RepDiscard}, cleanup.Discard, ""},
		{"hold at MAIL", milter.CmdMail, milter.Reply{Cmd: milter.RepQuarantine, Text: "x"}, cleanup.Hold, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := []milter.Reply{tc.reply}
			if tc.reply.Cmd == milter.RepQuarantine {
				rs = append(rs, milter.Reply{Cmd: milter.RepContinue})
			}
			m := miltertest.Start(t, func(e miltertest.Event) []milter.Reply {
				if e.Cmd == tc.cmd {
					return rs
				}
				return nil
			})
			s, _ := localStage(t, m)
			if v := s.Apply(context.Background(), localMessage(t)); v.Action != tc.action || v.Reply != tc.smtp {
				t.Errorf("verdict %+v, want action %d %q", v, tc.action, tc.smtp)
			}
		})
	}
	// an unreachable milter with the default action: 451, logged
	specs, _ := milter.ParseList([]string{"unix:/nonexistent/milter"}, milter.DefaultSettings(), "")
	s := &milter.LocalStage{Specs: specs}
	l := &logLines{}
	s.SetLog(slog.New(l))
	if v := s.Apply(context.Background(), localMessage(t)); v.Action != cleanup.Reject || !strings.HasPrefix(v.Reply, "451 4.7.1") {
		t.Errorf("unreachable: %+v", v)
	}
	if !strings.Contains(l.String(), "connect to Milter service unix:/nonexistent/milter: No such file or directory") {
		t.Errorf("log: %s", l.String())
	}
}
