package qmgr

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/route"
)

const directContent = "Subject: test\r\n\r\nhello\r\n"

// sendDirect hands a message to the manager's queue as smtpd does: an ID
// from RCPT time and the content in memory.
func (r *rig) sendDirect(env *queue.Envelope, body io.Reader) string {
	r.t.Helper()
	if env.ID == "" {
		env.ID = queue.NewID()
	}
	if body == nil {
		body = bytes.NewReader([]byte(directContent))
	}
	id, err := r.mgr.Queue().Enqueue(context.Background(), env, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if id != env.ID {
		r.t.Fatalf("queued as %s, want the session's ID %s", id, env.ID)
	}
	return id
}

func envTo(rcpts ...string) *queue.Envelope {
	env := &queue.Envelope{Sender: "s@example.net"}
	for _, a := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: a})
	}
	return env
}

func TestDirectDelivery(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Direct = true })
	r.settle("start", func() bool { return r.store.lists(queue.Incoming) > 0 })
	id := r.sendDirect(envTo("ok@mx.example.test"), nil)
	// Delivered when Enqueue returns: no queue file, no later work.
	if n := r.agent.count("ok@mx.example.test"); n != 1 {
		t.Fatalf("%d deliveries when Enqueue returned, want 1", n)
	}
	if r.store.enqueued() != 0 {
		t.Errorf("%d queue files written for a direct delivery", r.store.enqueued())
	}
	want := []string{
		"postern/qmgr: " + id + ": from=<s@example.net>, size=24, nrcpt=1 (queue active)",
		"postern/local: " + id + ": to=<ok@mx.example.test>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)",
		"postern/qmgr: " + id + ": removed",
	}
	if got := r.log.String(); got != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// Whatever is not delivered directly is queued under the session's ID
// and delivered from the queue; the direct attempt logs nothing.
func TestDirectFallsBackToTheQueue(t *testing.T) {
	for _, tc := range []struct {
		name   string
		direct bool
		env    *queue.Envelope
		body   io.Reader
		tries  int32 // DirectOnly requests the agent should see
	}{
		{"declined by the agent (an alias)", true, envTo("ok-alias@mx.example.test"), nil, 1},
		{"deferred", true, envTo("soft@mx.example.test"), nil, 1},
		{"bounced", true, envTo("hard@mx.example.test"), nil, 1},
		{"two recipients", true, envTo("ok1@mx.example.test", "ok2@mx.example.test"), nil, 0},
		{"remote recipient", true, envTo("ok@example.org"), nil, 0},
		{"streamed content", true, envTo("ok@mx.example.test"), strings.NewReader(directContent), 0},
		{"too large", true, envTo("ok@mx.example.test"), bytes.NewReader(make([]byte, directLimit+1)), 0},
		{"success notice asked", true, &queue.Envelope{Sender: "s@example.net",
			Recipients: []queue.Recipient{{Addr: "ok@mx.example.test", Notify: "SUCCESS"}}}, nil, 0},
		{"direct_local_delivery = no", false, envTo("ok@mx.example.test"), nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) {
				c.Direct = tc.direct
				c.Agents["smtp"] = c.Agents["local"]
			})
			r.settle("start", func() bool { return r.store.lists(queue.Incoming) > 0 })
			id := r.sendDirect(tc.env, tc.body)
			// Only the queue's attempt logs a from= line for a message
			// not delivered directly.
			r.settle("the queue's attempt", func() bool {
				return strings.Contains(r.log.String(), "qmgr: "+id+": from=")
			})
			if n := r.agent.direct.Load(); n != tc.tries {
				t.Errorf("%d direct attempts, want %d", n, tc.tries)
			}
			if n := strings.Count(r.log.String(), id+": from=<"); n != 1 {
				t.Errorf("%d from= lines, want the queue's one:\n%s", n, r.log)
			}
		})
	}
}

// Direct deliveries take the destination's slots as queued ones do.
func TestDirectDeliveryConcurrency(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Direct = true })
	r.settle("start", func() bool { return r.store.lists(queue.Incoming) > 0 })
	r.agent.waitPeak = 2
	r.agent.hold = 20 * time.Millisecond
	// Eight attempts share two slots: however slow the machine, none
	// gives up waiting and queues its message (TestDirectAttemptWaitsBriefly
	// is about that).
	r.mgr.directWait = time.Minute
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { r.sendDirect(envTo("ok@mx.example.test"), nil) })
	}
	wg.Wait()
	if n := r.agent.count("ok@mx.example.test"); n != 8 || r.store.enqueued() != 0 {
		t.Errorf("%d delivered, %d queued; want 8 delivered directly", n, r.store.enqueued())
	}
	if p := r.agent.peak.Load(); p != 2 {
		t.Errorf("peak concurrency to one local user %d, want 2", p)
	}
}

// A manager that is not running queues everything.
func TestNoDirectDeliveryWhenStopped(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Direct = true })
	r.stop()
	r.sendDirect(envTo("ok@mx.example.test"), nil)
	if r.store.enqueued() != 1 || r.agent.direct.Load() != 0 {
		t.Errorf("stopped manager: %d queued, %d direct attempts", r.store.enqueued(), r.agent.direct.Load())
	}
}

// A direct attempt does not keep the client waiting behind a backlog:
// with the user's slots busy for longer than directSlotWait, the message
// is queued.
func TestDirectAttemptWaitsBriefly(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Direct = true })
	r.settle("start", func() bool { return r.store.lists(queue.Incoming) > 0 })
	gate := make(chan struct{}) // the user's slots stay busy until the direct attempt is over
	r.agent.gate = gate
	r.send("s@example.net", "ok@mx.example.test")
	r.send("s@example.net", "ok@mx.example.test")
	for deadline := time.Now().Add(30 * time.Second); r.agent.running.Load() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the queued deliveries never started in 30 s")
		}
	}
	// sendDirect returns while the slots are busy: the client does not
	// wait behind the backlog.
	r.sendDirect(envTo("ok@mx.example.test"), nil)
	close(gate)
	if n := r.store.enqueued(); n != 3 {
		t.Errorf("%d messages queued, want the direct one too", n)
	}
	r.settle("all delivered", func() bool { return r.agent.count("ok@mx.example.test") == 3 })
	if n := r.agent.direct.Load(); n != 0 {
		t.Errorf("%d direct deliveries, want none", n)
	}
}

// lmtpRig is a rig whose v.test mailboxes go to an lmtp transport (the
// scripted agent, which answers as an LMTP server would per recipient),
// at most limit recipients per delivery.
func lmtpRig(t *testing.T, on bool, limit int) *rig {
	r := newRig(t, func(c *Config) {
		c.DirectLMTP = on
		c.Router.Virtual = route.Route{Transport: "lmtp", Nexthop: "unix:/run/dovecot/lmtp"}
		c.Router.IsVirtual = func(d string) (bool, error) { return d == "v.test", nil }
		c.Agents["lmtp"] = c.Agents["local"]
		c.Agents["smtp"] = c.Agents["local"]
		c.Limits = func(tr string) (int, int) {
			if tr == "lmtp" {
				return 20, limit
			}
			return 2, 1
		}
	})
	r.settle("start", func() bool { return r.store.lists(queue.Incoming) > 0 })
	return r
}

// direct_lmtp_delivery: a message whose recipients all go to one lmtp
// next hop is delivered before Enqueue returns, logged as a queued one.
func TestDirectLMTPDelivery(t *testing.T) {
	r := lmtpRig(t, true, 50)
	id := r.sendDirect(envTo("ok1@v.test", "ok2@v.test"), nil)
	if a, b := r.agent.count("ok1@v.test"), r.agent.count("ok2@v.test"); a != 1 || b != 1 || r.store.enqueued() != 0 {
		t.Fatalf("when Enqueue returned: %d and %d deliveries, %d queued; want 1, 1, 0", a, b, r.store.enqueued())
	}
	want := []string{
		"postern/qmgr: " + id + ": from=<s@example.net>, size=24, nrcpt=2 (queue active)",
		"postern/lmtp: " + id + ": to=<ok1@v.test>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)",
		"postern/lmtp: " + id + ": to=<ok2@v.test>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)",
		"postern/qmgr: " + id + ": removed",
	}
	if got := r.log.String(); got != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// What the LMTP server did not accept is queued under the same ID
// without the recipients it accepted: those are logged once, by the
// direct attempt, and never delivered again; a 4xx recipient is
// deferred and a 5xx one bounced by the queue's attempt.
func TestDirectLMTPPartial(t *testing.T) {
	r := lmtpRig(t, true, 50)
	id := r.sendDirect(envTo("ok1@v.test", "soft1@v.test", "hard1@v.test", "ok2@v.test"), nil)
	r.settle("the queue's attempt", func() bool {
		return strings.Contains(r.log.String(), "to=<hard1@v.test>") && strings.Contains(r.log.String(), "to=<soft1@v.test>")
	})
	r.store.mu.Lock()
	var left []string
	if r.store.msgs[id] == nil {
		r.store.mu.Unlock()
		t.Fatalf("%s was not queued", id)
	}
	for _, rc := range r.store.msgs[id].Envelope.Recipients {
		left = append(left, rc.Addr)
	}
	r.store.mu.Unlock()
	if got := strings.Join(left, " "); got != "soft1@v.test hard1@v.test" {
		t.Errorf("queued recipients %q, want the two not accepted", got)
	}
	if a, b := r.agent.count("ok1@v.test"), r.agent.count("ok2@v.test"); a != 1 || b != 1 {
		t.Errorf("accepted recipients delivered %d and %d times, want once", a, b)
	}
	log := r.log.String()
	for _, want := range []string{
		id + ": from=<s@example.net>, size=24, nrcpt=4 (queue active)",
		id + ": to=<ok1@v.test>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent",
		id + ": to=<ok2@v.test>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent",
		id + ": from=<s@example.net>, size=24, nrcpt=2 (queue active)",
	} {
		i := strings.Index(log, want)
		if i < 0 {
			t.Fatalf("log lacks %q after the lines before it:\n%s", want, r.log)
		}
		log = log[i+len(want):]
	}
	for _, want := range []string{"to=<soft1@v.test>, relay=local, delay=0, delays=0/0/0/0, dsn=4.2.2, status=deferred",
		"to=<hard1@v.test>, relay=local, delay=0, delays=0/0/0/0, dsn=5.1.1, status=bounced"} {
		if n := strings.Count(r.log.String(), want); n != 1 {
			t.Errorf("log has %q %d times, want once:\n%s", want, n, r.log)
		}
	}
}

// Messages direct_lmtp_delivery leaves to the queue, whole.
func TestDirectLMTPQueued(t *testing.T) {
	for _, tc := range []struct {
		name  string
		on    bool
		limit int
		env   *queue.Envelope
	}{
		{"direct_lmtp_delivery = no", false, 50, envTo("ok1@v.test")},
		{"two transports", true, 50, envTo("ok1@v.test", "ok@mx.example.test")},
		{"more than one transaction", true, 1, envTo("ok1@v.test", "ok2@v.test")},
		{"remote", true, 50, envTo("ok@example.org")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := lmtpRig(t, tc.on, tc.limit)
			id := r.sendDirect(tc.env, nil)
			r.settle("the queue's attempt", func() bool {
				return strings.Contains(r.log.String(), "qmgr: "+id+": from=")
			})
			if n := r.store.enqueued(); n != 1 {
				t.Errorf("%d queued, want 1", n)
			}
			if n := strings.Count(r.log.String(), "nrcpt="+fmt.Sprint(len(tc.env.Recipients))); n != 1 {
				t.Errorf("want one from= line with every recipient:\n%s", r.log)
			}
		})
	}
}

// A direct lmtp attempt for several recipients is not made while the
// queue has no room: were the server to accept some and the queue then
// refuse the rest, the client's retry would deliver the accepted ones
// twice (review 19, M4). One recipient leaves nothing to queue.
func TestDirectLMTPNeedsQueueRoom(t *testing.T) {
	r := lmtpRig(t, true, 50)
	r.store.mu.Lock()
	r.store.full = true
	r.store.mu.Unlock()
	r.sendDirect(envTo("ok1@v.test", "ok2@v.test"), nil)
	if a, b := r.agent.count("ok1@v.test"), r.agent.count("ok2@v.test"); a != 0 || b != 0 || r.store.enqueued() != 1 {
		t.Fatalf("with the queue full: %d and %d direct deliveries, %d queued; want 0, 0, 1", a, b, r.store.enqueued())
	}
	r.sendDirect(envTo("ok3@v.test"), nil)
	if n := r.agent.count("ok3@v.test"); n != 1 {
		t.Fatalf("one recipient with the queue full: %d direct deliveries, want 1", n)
	}
}
