package smtpd

import (
	"context"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/queue"
)

// A held message gets what a streamed one gets before the stages see
// it: message_drop_headers removed and stray <CR>/<LF> replaced (also a
// <CR><LF> split between writes, and a final lone <CR>), in memory and
// beyond it; the stages see the content the queue gets.
func TestHeldMessageContent(t *testing.T) {
	pieces := []string{"Subject: x\r\nBcc: hidden@example.test\r\n\r\n", "a\rb\r", "\nsplit\r", "\r\n"}
	for _, size := range []int{1, 3 * cleanup.MemLimit} {
		for _, stray := range []bool{true, false} {
			q := &queue.Memory{}
			env := &queue.Envelope{Recipients: []queue.Recipient{{Addr: "b@example.test"}}}
			var seen string
			st := cleanup.StageFunc(func(_ context.Context, m *cleanup.Message) cleanup.Verdict {
				seen = string(m.Header.Bytes())
				return cleanup.Verdict{}
			})
			m := startMessage(context.Background(), q, env, "Received: x\r\n", stray)
			m.hold([]cleanup.Stage{st}, t.TempDir())
			var sent strings.Builder
			for first := true; first || sent.Len() < size; first = false {
				for i, p := range pieces {
					if i == 0 && !first {
						continue
					}
					sent.WriteString(p)
					m.Write([]byte(p))
				}
			}
			m.Write([]byte("end\r"))
			sent.WriteString("end\r")
			id, v, err := m.finishHeld(context.Background(), cleanup.Origin{})
			if err != nil || id == "" || v.Action != cleanup.Continue {
				t.Fatalf("finishHeld: %q %+v %v", id, v, err)
			}
			want := "Received: x\r\n" + strings.Replace(sent.String(), "Bcc: hidden@example.test\r\n", "", 1)
			if stray {
				want = strings.NewReplacer("a\rb", "a b", "split\r\r\n", "split \r\n").Replace(want)
				want = strings.TrimSuffix(want, "\r") + " "
			}
			if got := string(q.Messages()[0].Body); got != want {
				t.Errorf("size %d, stray %v: queued %.120q…, want %.120q…", size, stray, got, want)
			}
			if seen != "Received: x\r\nSubject: x\r\n\r\n" {
				t.Errorf("the stage saw the header %q", seen)
			}
		}
	}
}

// An aborted held message queues nothing and releases its spool, and
// the stages never run.
func TestHeldMessageAbort(t *testing.T) {
	q := &queue.Memory{}
	env := &queue.Envelope{Recipients: []queue.Recipient{{Addr: "b@example.test"}}}
	ran := false
	st := cleanup.StageFunc(func(context.Context, *cleanup.Message) cleanup.Verdict { ran = true; return cleanup.Verdict{} })
	m := startMessage(context.Background(), q, env, "Received: x\r\n", true)
	m.hold([]cleanup.Stage{st}, t.TempDir())
	sp := m.held.spool
	m.Write([]byte(strings.Repeat("x", 2*cleanup.MemLimit)))
	if !sp.InFile() {
		t.Fatal("no spool file")
	}
	m.Abort(errAborted)
	if m.held != nil || sp.Size() != 0 || ran || len(q.Messages()) != 0 {
		t.Errorf("after Abort: held %v, spool size %d, stage ran %v, %d queued", m.held != nil, sp.Size(), ran, len(q.Messages()))
	}
}
