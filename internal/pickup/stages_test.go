package pickup

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/queue"
)

// enqueueOnly hides Memory's EnqueueBounced: a queue that cannot bounce.
type enqueueOnly struct{ m *queue.Memory }

func (q enqueueOnly) Enqueue(ctx context.Context, env *queue.Envelope, body io.Reader) (string, error) {
	return q.m.Enqueue(ctx, env, body)
}

// Content stages see a local submission with its origin (Local, the
// submitter's UID, service pickup) and decide what is queued: edits go
// to the queue, Hold into the hold queue, Discard nothing; a permanent
// refusal is returned to the sender (every recipient bounced), or kept
// on hold by a queue that cannot bounce; a temporary one keeps the
// maildrop file for the next scan.
func TestScanStages(t *testing.T) {
	tests := []struct {
		name      string
		verdict   cleanup.Verdict
		noBounce  bool
		queued    string // the queue the message is in; "": none
		bounced   bool
		keepsFile bool
		log       string
	}{
		{name: "continue", queued: queue.Incoming},
		{name: "hold", verdict: cleanup.Verdict{Action: cleanup.Hold}, queued: queue.Hold, log: "milter-hold: END-OF-MESSAGE from localhost[127.0.0.1]: milter triggers HOLD action; from=<root@example.test> to=<bob@example.test>"},
		{name: "discard", verdict: cleanup.Verdict{Action: cleanup.Discard}, log: "milter-discard: END-OF-MESSAGE from localhost[127.0.0.1]: milter triggers DISCARD action"},
		{name: "reject", verdict: cleanup.Verdict{Action: cleanup.Reject, Reply: "550 5.7.0 spam\r\n"}, queued: queue.Incoming, bounced: true,
			log: "milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: 5.7.0 spam; from=<root@example.test> to=<bob@example.test>"},
		{name: "reject, no bouncer", verdict: cleanup.Verdict{Action: cleanup.Reject, Reply: "550 5.7.1 no"}, noBounce: true, queued: queue.Hold,
			log: "kept on hold"},
		{name: "tempfail", verdict: cleanup.Verdict{Action: cleanup.Reject, Reply: "451 4.7.1 later", Source: "dkim"}, keepsFile: true,
			log: "dkim-reject: END-OF-MESSAGE from localhost[127.0.0.1]: 4.7.1 later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := newMaildrop(t)
			var seen []cleanup.Origin
			cfg.Stages = []cleanup.Stage{cleanup.StageFunc(func(_ context.Context, m *cleanup.Message) cleanup.Verdict {
				seen = append(seen, m.Origin)
				m.Header.Prepend("X-Stage", "seen")
				return tt.verdict
			})}
			drop(t, cfg, &Submission{Sender: "root", Recipients: []string{"bob"}}, "Subject: staged\n\nbody\n")
			mem := &queue.Memory{}
			var q queue.Queue = mem
			if tt.noBounce {
				q = enqueueOnly{mem}
			}
			log, lines := newLog()
			p := New(cfg, q, log)
			if _, err := p.Scan(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(seen) != 1 || !seen[0].Local || seen[0].UID != os.Getuid() || seen[0].Service != "pickup" || !seen[0].Trusted() {
				t.Errorf("origins %+v", seen)
			}
			msgs := mem.Messages()
			if tt.queued == "" {
				if len(msgs) != 0 {
					t.Errorf("%d messages queued", len(msgs))
				}
			} else {
				if len(msgs) != 1 {
					t.Fatalf("%d messages queued", len(msgs))
				}
				if msgs[0].Queue != tt.queued {
					t.Errorf("queued in %q, want %q", msgs[0].Queue, tt.queued)
				}
				if body := string(msgs[0].Body); !strings.HasPrefix(body, "X-Stage: seen\r\nReceived: by mx.example.test") || !strings.HasSuffix(body, "\r\n\r\nbody\r\n") {
					t.Errorf("queued %q", body)
				}
				bounced := len(msgs[0].Status) == 1 && msgs[0].Status[0].State == queue.Bounced
				if bounced != tt.bounced {
					t.Errorf("status %+v, bounced %v", msgs[0].Status, tt.bounced)
				}
				if bounced && (msgs[0].Status[0].DSN != "5.7.0" || msgs[0].Status[0].Reason != "spam") {
					t.Errorf("status %+v", msgs[0].Status[0])
				}
			}
			if left := maildropFiles(t, cfg); (len(left) == 1) != tt.keepsFile {
				t.Errorf("maildrop holds %v", left)
			}
			if tt.log != "" && !hasLine(lines(), tt.log) {
				t.Errorf("log lacks %q:\n%s", tt.log, strings.Join(lines(), "\n"))
			}
		})
	}
}
