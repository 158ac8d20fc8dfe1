package smtpd

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/queue"
)

// Content reaches the queue intact whether it stays in memory or
// outgrows memLimit and streams; an aborted message queues nothing.
func TestMessageBufferOrStream(t *testing.T) {
	const header = "Received: x\r\n"
	line := strings.Repeat("z", 78) + "\r\n"
	tests := []struct {
		name    string
		size    int // content bytes, written a line at a time
		stream  bool
		aborted bool
	}{
		{"empty", 0, false, false},
		{"small", 4096, false, false},
		{"exactly the limit", memLimit - len(header), false, false},
		{"one byte over", memLimit - len(header) + 1, true, false},
		{"large", 5 * memLimit, true, false},
		{"small aborted", 4096, false, true},
		{"large aborted", 5 * memLimit, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &queue.Memory{}
			env := &queue.Envelope{Recipients: []queue.Recipient{{Addr: "b@example.test"}}}
			m := startMessage(context.Background(), q, env, header, false)
			var want strings.Builder
			for want.Len() < tt.size {
				p := line[:min(len(line), tt.size-want.Len())]
				want.WriteString(p)
				m.Write([]byte(p))
			}
			if streaming := m.pw != nil; streaming != tt.stream {
				t.Errorf("streaming %v, want %v", streaming, tt.stream)
			}
			if tt.aborted {
				m.Abort(errors.New("client went away"))
				if n := len(q.Messages()); n != 0 {
					t.Errorf("%d messages queued after Abort", n)
				}
				return
			}
			if _, err := m.Close(); err != nil {
				t.Fatal(err)
			}
			msgs := q.Messages()
			if len(msgs) != 1 || string(msgs[0].Body) != header+want.String() {
				t.Fatalf("queued %d messages; want the content of %d bytes intact", len(msgs), tt.size)
			}
		})
	}
}

// A queue that fails makes Close fail, in memory and streaming.
func TestMessageQueueFailure(t *testing.T) {
	for _, size := range []int{10, 3 * memLimit} {
		q := &queue.Memory{Fail: queue.ErrNoSpace}
		env := &queue.Envelope{Recipients: []queue.Recipient{{Addr: "b@example.test"}}}
		m := startMessage(context.Background(), q, env, "", false)
		m.Write([]byte(strings.Repeat("x", size)))
		if _, err := m.Close(); !errors.Is(err, queue.ErrNoSpace) {
			t.Errorf("%d bytes: Close: %v, want ErrNoSpace", size, err)
		}
	}
}

// cleanup_replace_stray_cr_lf: stray <CR>s become spaces before the queue
// stores the message, in memory and streaming, also where a <CR><LF> is
// split between two writes; with the parameter off nothing changes.
func TestMessageStrayCRLF(t *testing.T) {
	pieces := []string{"Subject: x\r\n\r\n", "a\rb\r", "\nsplit\r", "\r\n", "z\r.\rMAIL FROM:<evil@example.test>\r\n"}
	for _, size := range []int{1, 3 * memLimit} {
		for _, stray := range []bool{true, false} {
			q := &queue.Memory{}
			env := &queue.Envelope{Recipients: []queue.Recipient{{Addr: "b@example.test"}}}
			m := startMessage(context.Background(), q, env, "Received: x\r\n", stray)
			var sent strings.Builder
			for sent.Len() < size {
				for _, p := range pieces {
					sent.WriteString(p)
					m.Write([]byte(p))
				}
			}
			if _, err := m.Close(); err != nil {
				t.Fatal(err)
			}
			want := "Received: x\r\n" + sent.String()
			if stray {
				want = strings.NewReplacer("a\rb", "a b", "split\r\r\n", "split \r\n", "z\r.\rMAIL", "z . MAIL").Replace(want)
			}
			if got := string(q.Messages()[0].Body); got != want {
				t.Errorf("size %d, stray %v: queued %q…, want %q…", size, stray, got[:min(len(got), 120)], want[:min(len(want), 120)])
			}
		}
	}
}
