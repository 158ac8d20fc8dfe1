package qmgr

import (
	"context"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/queue"
)

// A message queued on hold (a content stage's quarantine) is neither
// delivered at once (direct delivery) nor scheduled: it waits in hold,
// while mail queued after it is delivered.
func TestHeldMessageWaits(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Direct = true })
	r.settle("start", func() bool { return r.store.lists(queue.Incoming) > 0 })
	env := envTo("ok@mx.example.test")
	env.Hold = true
	held := r.sendDirect(env, nil)
	id := r.send("s@example.net", "ok2@mx.example.test")
	r.mgr.Flush()
	r.settle("delivery of the second message", func() bool { m, _ := r.store.snapshot(id); return m == nil })
	if _, q := r.store.snapshot(held); q != queue.Hold {
		t.Errorf("the held message is in %q", q)
	}
	if n := r.agent.count("ok@mx.example.test"); n != 0 {
		t.Errorf("the held message was delivered %d times", n)
	}
}

// EnqueueBounced queues a message whose recipients all failed: the
// manager sends the failure notice to the sender and removes it,
// delivering nothing.
func TestEnqueueBounced(t *testing.T) {
	r := newRig(t, nil)
	env := &queue.Envelope{ID: "B0001", Sender: "root@example.test", Arrival: *r.now.Load(),
		Recipients: []queue.Recipient{{Addr: "ok@mx.example.test"}, {Addr: "ok2@mx.example.test", Notify: "NEVER"}}}
	b, ok := r.mgr.Queue().(queue.Bouncer)
	if !ok {
		t.Fatal("the manager's queue is no queue.Bouncer")
	}
	id, err := b.EnqueueBounced(context.Background(), env, strings.NewReader("Subject: refused\r\n\r\nx\r\n"),
		queue.RcptStatus{Action: "failed", DSN: "5.7.1", Reason: "spam"})
	if err != nil {
		t.Fatal(err)
	}
	r.settle("removal", func() bool { m, _ := r.store.snapshot(id); return m == nil })
	log := r.log.String()
	for _, want := range []string{
		id + ": to=<ok@mx.example.test>, relay=none, delay=0, delays=0/0/0/0, dsn=5.7.1, status=bounced (spam)",
		"postern/bounce: " + id + ": sender non-delivery notification: ",
		id + ": removed",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if r.agent.count("ok@mx.example.test")+r.agent.count("ok2@mx.example.test") != 0 {
		t.Error("a refused message was delivered")
	}
	var notices int
	for _, nid := range r.store.ids() {
		if n, _ := r.store.snapshot(nid); n != nil && n.Envelope.Sender == "" && n.Envelope.Recipients[0].Addr == "root@example.test" {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("%d notices to the sender", notices)
	}
}
