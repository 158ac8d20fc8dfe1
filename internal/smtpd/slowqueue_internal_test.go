package smtpd

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

// slowQueue takes longer to enqueue than smtpd_timeout, as a direct
// delivery to a slow mailbox server may (review 19, M1).
type slowQueue struct {
	queue.Memory
	delay time.Duration
}

func (q *slowQueue) Enqueue(ctx context.Context, env *queue.Envelope, body io.Reader) (string, error) {
	time.Sleep(q.delay)
	return q.Memory.Enqueue(ctx, env, body)
}

// The reply to "." gets its own smtpd_timeout once the queue has
// answered: a queue (a direct delivery) slower than smtpd_timeout must
// not cost the client its 250 for a message that was taken, which it
// would then send again.
func TestReplyAfterSlowQueue(t *testing.T) {
	srv := authServer(t, "smtpd_timeout = 1s\n", &syncBuffer{})
	q := &slowQueue{delay: 2500 * time.Millisecond}
	srv.Queue = q
	c, br, _ := serveOne(t, srv)
	for _, l := range []string{"EHLO client.test", "MAIL FROM:<a@example.test>", "RCPT TO:<b@example.test>", "DATA"} {
		if r := talk(t, c, br, l); r[0] != '2' && r[0] != '3' {
			t.Fatalf("%s: %s", l, r)
		}
	}
	if r := talk(t, c, br, "Subject: x\r\n\r\nbody\r\n."); !strings.HasPrefix(r, "250 2.0.0 Ok: queued as ") {
		t.Fatalf("after a queue slower than smtpd_timeout: %q, want 250", r)
	}
	if n := len(q.Messages()); n != 1 {
		t.Fatalf("%d messages queued, want 1", n)
	}
}
