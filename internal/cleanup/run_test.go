package cleanup

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

func addField(name string) Stage {
	return StageFunc(func(_ context.Context, m *Message) Verdict {
		m.Header.Prepend(name, "yes")
		return Verdict{}
	})
}

func verdict(v Verdict) Stage {
	return StageFunc(func(context.Context, *Message) Verdict { return v })
}

// Run applies the stages in order and queues the result once, in the
// durable store: Continue and Hold go on (Hold into hold/, never
// incoming/), Reject and Discard stop and queue nothing.
func TestRun(t *testing.T) {
	const in = "Subject: run\r\n\r\nbody\r\n"
	tests := []struct {
		name   string
		stages []Stage
		action Action
		queue  string // "": nothing queued
		want   string
	}{
		{"none", nil, Continue, queue.Incoming, in},
		{"in order", []Stage{addField("X-1"), addField("X-2")}, Continue, queue.Incoming, "X-2: yes\r\nX-1: yes\r\n" + in},
		{"hold, later stages run", []Stage{addField("X-1"), verdict(Verdict{Action: Hold, Source: "dmarc"}), addField("X-2"), verdict(Verdict{Action: Hold})},
			Hold, queue.Hold, "X-2: yes\r\nX-1: yes\r\n" + in},
		{"reject stops", []Stage{addField("X-1"), verdict(Verdict{Action: Reject, Reply: "550 5.7.1 no"}), addField("X-2")}, Reject, "", ""},
		{"no recipients left", []Stage{StageFunc(func(_ context.Context, m *Message) Verdict { m.Env.Recipients = nil; return Verdict{} })}, Reject, "", ""},
		{"discard stops", []Stage{verdict(Verdict{Action: Hold}), verdict(Verdict{Action: Discard}), addField("X-2")}, Discard, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := queue.Open(dir, queue.Options{})
			if err != nil {
				t.Fatal(err)
			}
			env := &queue.Envelope{Sender: "a@example.test", Recipients: []queue.Recipient{{Addr: "b@example.test"}}}
			m, err := NewMessage(env, Origin{}, spoolOf(t, dir, in))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			ran := 0
			stages := make([]Stage, len(tt.stages))
			for i, s := range tt.stages {
				stages[i] = StageFunc(func(ctx context.Context, m *Message) Verdict { ran = i + 1; return s.Apply(ctx, m) })
			}
			id, v, err := Run(context.Background(), st, m, stages)
			if err != nil {
				t.Fatal(err)
			}
			if v.Action != tt.action {
				t.Errorf("verdict %v, want %v", v.Action, tt.action)
			}
			if tt.action == Hold && v.Source != "dmarc" {
				t.Errorf("verdict %+v, want the first Hold", v)
			}
			if tt.action == Reject && v.Reply != "550 5.7.1 no" && v.Reply != NoRecipients {
				t.Errorf("reply %q", v.Reply)
			}
			if (tt.action == Reject || tt.action == Discard) && ran == len(stages) && !strings.HasPrefix(tt.name, "no recipients") {
				t.Error("the stages after the verdict ran")
			}
			for _, q := range []string{queue.Incoming, queue.Hold} {
				ids, err := st.List(q)
				if err != nil {
					t.Fatal(err)
				}
				if want := q == tt.queue; (len(ids) == 1) != want || len(ids) > 1 {
					t.Errorf("%s holds %v", q, ids)
				}
			}
			if tt.queue == "" {
				if id != "" {
					t.Errorf("ID %q for a message not queued", id)
				}
				return
			}
			rc, err := st.Content(tt.queue, id)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != tt.want {
				t.Errorf("queued %q, want %q", got, tt.want)
			}
			if tt.queue == queue.Hold {
				// postsuper -H: released as any held message.
				if err := st.Defer(id, queue.Hold, time.Now()); err != nil {
					t.Fatal(err)
				}
				if _, err := st.Read(queue.Deferred, id); err != nil {
					t.Errorf("after release: %v", err)
				}
			}
		})
	}
}

// A message on its way to hold is never seen in incoming, and not
// queued at all when ctx ends first.
func TestRunCancelled(t *testing.T) {
	dir := t.TempDir()
	st, err := queue.Open(dir, queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	env := &queue.Envelope{Recipients: []queue.Recipient{{Addr: "b@example.test"}}}
	m, _ := NewMessage(env, Origin{}, spoolOf(t, "", "S: x\r\n\r\n"))
	defer m.Close()
	stop := StageFunc(func(context.Context, *Message) Verdict { cancel(); return Verdict{Action: Hold} })
	if _, _, err := Run(ctx, st, m, []Stage{stop, addField("X")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v, want context.Canceled", err)
	}
	for _, q := range []string{queue.Incoming, queue.Hold} {
		if ids, _ := st.List(q); len(ids) != 0 {
			t.Errorf("%s holds %v", q, ids)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Errorf("tmp holds %d files", len(entries))
	}
}

// ReplyLines never passes CR, LF or other control characters on, keeps
// a multi-line reply's lines under one code, and replaces what is no
// 4xx/5xx reply with Postfix's default.
func TestReplyLines(t *testing.T) {
	tests := []struct {
		reply string
		want  []string
	}{
		{"550 5.7.1 no", []string{"550 5.7.1 no"}},
		{"451 4.7.1 later\r\n", []string{"451 4.7.1 later"}},
		{"550-5.7.1 one\r\n550 5.7.1 two", []string{"550 5.7.1 one", "550 5.7.1 two"}},
		{"550 5.7.1 a\rb\x00c", []string{"550 5.7.1 a", "550 5.7.1 b c"}},
		{"550 5.7.1 x\r\nRSET\r\n", []string{"550 5.7.1 x", "550 5.7.1 RSET"}},
		{"550 5.7.1 x\n250 2.0.0 Ok", []string{"550 5.7.1 x", "550 5.7.1 250 2.0.0 Ok"}},
		{"550-5.7.1 a\r\nx", []string{"550 5.7.1 a", "550 5.7.1 x"}},
		{"550-5.7.1 a\r\n5", []string{"550 5.7.1 a", "550 5.7.1 5"}},
		{"550-5.7.1 a\r\n\r\n550 5.7.1 b", []string{"550 5.7.1 a", "550 5.7.1 b"}},
		{"550 2.0.0 looks fine", []string{"550 5.0.0 looks fine"}},
		{"451-4.3.0 a\r\n451-4.3.0 b\r\n451 c", []string{"451 4.3.0 a", "451 4.3.0 b", "451 4.3.0 c"}},
		{"550 x\r\n550 5.7.1 y", []string{"550 x", "550 5.7.1 y"}},
		{"550 5.7.1", []string{"550 5.7.1 Command rejected"}},
		{"550 5.7.1 caf\xc3\xa9 \xff\xc2\x85", []string{"550 5.7.1 caf\u00e9 ?"}},
		{"550 5.7.1 " + strings.Repeat("x", 2000), []string{"550 5.7.1 " + strings.Repeat("x", 500)}},
		{strings.Repeat("550-5.7.1 l\r\n", 80), slices.Repeat([]string{"550 5.7.1 l"}, 50)},
		{"250 ok", []string{DefaultReject}},
		{"", []string{DefaultReject}},
		{"5x0 bad", []string{DefaultReject}},
		{"550x", []string{DefaultReject}},
		{"550", []string{"550 5.7.1 Command rejected"}},
		{"450", []string{"450 4.7.1 Service unavailable - try again later"}},
	}
	for _, tt := range tests {
		got := Verdict{Action: Reject, Reply: tt.reply}.ReplyLines()
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%q: %q, want %q", tt.reply, got, tt.want)
		}
		for _, l := range got {
			if strings.ContainsAny(l, "\r\n\x00") {
				t.Errorf("%q: line %q has a control character", tt.reply, l)
			}
		}
	}
	if w := (Verdict{}).Word(); w != "milter" {
		t.Errorf("Word %q", w)
	}
}
