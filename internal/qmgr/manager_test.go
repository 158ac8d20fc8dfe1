package qmgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/route"
)

// scripted decides by the recipient's local part: ok… is delivered,
// soft… deferred, hard… bounced; an address with "alias" in it is
// declined when the request is DirectOnly. It counts deliveries, direct
// ones and concurrency.
type scripted struct {
	mu        sync.Mutex
	delivered map[string]int
	direct    atomic.Int32 // DirectOnly requests
	running   atomic.Int32
	peak      atomic.Int32
	hold      time.Duration
	release   bool // call Request.Release before holding
	// Events a delivery waits for (at most 10 s, then it goes on and
	// the test's assertion fails), before it holds: waitPeak deliveries
	// running at once, gate closed.
	waitPeak int32
	gate     chan struct{}
}

// await waits for the events the test asked for: the deliveries that
// must overlap overlap whatever the machine's load, not because each
// happened to last long enough.
func (a *scripted) await() {
	deadline := time.After(10 * time.Second)
	if a.gate != nil {
		select {
		case <-a.gate:
		case <-deadline:
			return
		}
	}
	for a.peak.Load() < a.waitPeak {
		select {
		case <-deadline:
			return
		case <-time.After(time.Millisecond):
		}
	}
}

func (a *scripted) Deliver(_ context.Context, req *deliver.Request) []deliver.Result {
	n := a.running.Add(1)
	defer a.running.Add(-1)
	for {
		p := a.peak.Load()
		if n <= p || a.peak.CompareAndSwap(p, n) {
			break
		}
	}
	if a.release && req.Release != nil {
		req.Release()
	}
	a.await()
	time.Sleep(a.hold)
	if req.DirectOnly {
		a.direct.Add(1)
	}
	var out []deliver.Result
	for _, i := range req.Rcpts {
		addr := req.Env.Recipients[i].Addr
		r := deliver.Result{Rcpt: i, Relay: "local"}
		switch {
		case req.DirectOnly && strings.Contains(addr, "alias"):
			r.Kind = deliver.Declined
		case strings.HasPrefix(addr, "ok"):
			r.Kind, r.DSN, r.Reason = deliver.Sent, "2.0.0", "delivered to maildir"
			a.mu.Lock()
			a.delivered[addr]++
			a.mu.Unlock()
		case strings.HasPrefix(addr, "soft"):
			r.Kind, r.DSN, r.Reason = deliver.Deferred, "4.2.2", "mailbox full"
		default:
			r.Kind, r.DSN, r.Reason = deliver.Bounced, "5.1.1", `unknown user: "`+addr+`"`
		}
		out = append(out, r)
	}
	return out
}

func (a *scripted) count(addr string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.delivered[addr]
}

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) WithGroup(string) slog.Handler            { return l }
func (l *logLines) WithAttrs(as []slog.Attr) slog.Handler {
	for _, a := range as {
		if a.Key == "program" {
			return &prefixed{l, a.Value.String()}
		}
	}
	return l
}
func (l *logLines) Handle(_ context.Context, r slog.Record) error { return l.add(r.Message) }
func (l *logLines) add(s string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
	return nil
}
func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

type prefixed struct {
	*logLines
	program string
}

func (p *prefixed) Handle(_ context.Context, r slog.Record) error {
	return p.add(p.program + ": " + r.Message)
}

type rig struct {
	t     *testing.T
	store *memStore
	agent *scripted
	log   *logLines
	mgr   *Manager
	now   atomic.Pointer[time.Time]
	stop  func()
}

func newRig(t *testing.T, tweak func(*Config)) *rig {
	r := &rig{t: t, store: newMemStore(), agent: &scripted{delivered: map[string]int{}}, log: &logLines{}}
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	r.now.Store(&start)
	cfg := Config{
		Router: &route.Router{Local: route.Route{Transport: "local", Nexthop: "mx.example.test"},
			Default: route.Route{Transport: "smtp"},
			IsLocal: func(d string) (bool, error) { return d == "mx.example.test", nil }},
		Agents:     map[string]deliver.Agent{"local": r.agent, "discard": deliver.Discard{}},
		MinBackoff: 300 * time.Second, MaxBackoff: 4000 * time.Second, RunDelay: time.Hour,
		MaxLifetime: 5 * 24 * time.Hour, BounceLifetime: 5 * 24 * time.Hour,
		Limits:   func(string) (int, int) { return 2, 1 },
		Hostname: "mx.example.test", MailName: "postern",
		Log: slog.New(r.log), Now: func() time.Time { return *r.now.Load() },
	}
	if tweak != nil {
		tweak(&cfg)
	}
	r.mgr = New(r.store, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.mgr.Run(ctx); close(done) }()
	r.stop = func() { cancel(); <-done }
	t.Cleanup(r.stop)
	return r
}

func (r *rig) advance(d time.Duration) {
	n := r.now.Load().Add(d)
	r.now.Store(&n)
}

// send queues a message through the manager's queue.
func (r *rig) send(sender string, rcpts ...string) string {
	env := &queue.Envelope{Sender: sender, Arrival: *r.now.Load()}
	for _, a := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: a})
	}
	id, err := r.mgr.Queue().Enqueue(context.Background(), env, strings.NewReader("Subject: test\r\n\r\nhello\r\n"))
	if err != nil {
		r.t.Fatal(err)
	}
	return id
}

// settle waits until no message is active and the condition holds.
func (r *rig) settle(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a loaded 2-core machine, -race
	for time.Now().Before(deadline) {
		r.mgr.mu.Lock()
		idle := len(r.mgr.active) == 0
		r.mgr.mu.Unlock()
		if idle && cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.t.Fatalf("timed out waiting for %s; log:\n%s", what, r.log)
}

func TestDeliveredMessageIsRemoved(t *testing.T) {
	r := newRig(t, nil)
	id := r.send("sender@example.net", "ok1@mx.example.test", "ok2@mx.example.test")
	r.settle("removal", func() bool { m, _ := r.store.snapshot(id); return m == nil })
	log := r.log.String()
	for _, want := range []string{
		"postern/qmgr: " + id + ": from=<sender@example.net>, size=24, nrcpt=2 (queue active)",
		"postern/local: " + id + ": to=<ok1@mx.example.test>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)",
		"postern/qmgr: " + id + ": removed",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if r.agent.count("ok1@mx.example.test") != 1 || r.agent.count("ok2@mx.example.test") != 1 {
		t.Errorf("deliveries %v", r.agent.delivered)
	}
}

func TestMixedOutcomes(t *testing.T) {
	r := newRig(t, nil)
	id := r.send("sender@example.net", "ok@mx.example.test", "soft@mx.example.test", "hard@mx.example.test")
	r.settle("deferral", func() bool { _, q := r.store.snapshot(id); return q == queue.Deferred })
	m, _ := r.store.snapshot(id)
	if st := m.Status; st[0].State != queue.Sent || st[1].State != queue.Pending || st[1].Reason != "mailbox full" ||
		st[2].State != queue.Bounced || !st[2].Notified {
		t.Fatalf("statuses %+v", st)
	}
	if want := r.now.Load().Add(300 * time.Second); !m.NextAttempt.Equal(want) {
		t.Errorf("next attempt %v, want %v (minimal_backoff_time)", m.NextAttempt, want)
	}
	// The failure notice went to the sender, from <>.
	var notice *queue.Message
	for _, nid := range r.store.ids() {
		if n, _ := r.store.snapshot(nid); nid != id && n != nil {
			notice = n
		}
	}
	if notice == nil || notice.Envelope.Sender != "" || notice.Envelope.Recipients[0].Addr != "sender@example.net" {
		t.Fatalf("no failure notice to the sender: %+v; log:\n%s", notice, r.log)
	}
	if !strings.Contains(r.log.String(), "postern/bounce: "+id+": sender non-delivery notification: "+notice.ID) {
		t.Errorf("no bounce log line:\n%s", r.log)
	}
	// A retry delivers nothing twice.
	r.mgr.Flush()
	r.settle("second attempt", func() bool { return strings.Count(r.log.String(), "to=<soft@mx.example.test>") == 2 })
	if r.agent.count("ok@mx.example.test") != 1 {
		t.Errorf("ok@ delivered %d times", r.agent.count("ok@mx.example.test"))
	}
}

func TestExpiryReturnsToSender(t *testing.T) {
	r := newRig(t, func(c *Config) { c.MaxLifetime = time.Hour })
	id := r.send("sender@example.net", "soft@mx.example.test")
	r.settle("deferral", func() bool { _, q := r.store.snapshot(id); return q == queue.Deferred })
	r.advance(2 * time.Hour)
	r.mgr.Flush()
	r.settle("expiry", func() bool { m, _ := r.store.snapshot(id); return m == nil })
	if !strings.Contains(r.log.String(), "dsn=4.2.2, status=expired, returned to sender (mailbox full)") {
		t.Errorf("no expiry line:\n%s", r.log)
	}
	if !strings.Contains(r.log.String(), id+": sender non-delivery notification: ") {
		t.Errorf("no notice:\n%s", r.log)
	}
}

func TestNullSenderIsNeverBounced(t *testing.T) {
	r := newRig(t, nil)
	id := r.send("", "hard@mx.example.test")
	r.settle("removal", func() bool { m, _ := r.store.snapshot(id); return m == nil })
	if ids := r.store.ids(); len(ids) != 0 {
		t.Errorf("a notice was queued for null-sender mail: %v", ids)
	}
}

func TestSoftBounce(t *testing.T) {
	r := newRig(t, func(c *Config) { c.SoftBounce = true })
	id := r.send("sender@example.net", "hard@mx.example.test")
	r.settle("deferral", func() bool { _, q := r.store.snapshot(id); return q == queue.Deferred })
	if !strings.Contains(r.log.String(), "dsn=4.1.1, status=deferred") {
		t.Errorf("soft_bounce did not defer:\n%s", r.log)
	}
}

func TestDelayWarning(t *testing.T) {
	r := newRig(t, func(c *Config) { c.DelayWarning = time.Hour })
	id := r.send("sender@example.net", "soft@mx.example.test")
	r.settle("deferral", func() bool { _, q := r.store.snapshot(id); return q == queue.Deferred })
	for k := 2; k <= 3; k++ { // only one warning, however many rounds
		r.advance(2 * time.Hour)
		r.mgr.Flush()
		r.settle("retry", func() bool {
			_, q := r.store.snapshot(id)
			return q == queue.Deferred && strings.Count(r.log.String(), "to=<soft@") == k
		})
	}
	if n := strings.Count(r.log.String(), "sender delay notification"); n != 1 {
		t.Errorf("%d delay notices, want 1:\n%s", n, r.log)
	}
}

func TestDestinationConcurrency(t *testing.T) {
	r := newRig(t, nil)
	r.agent.waitPeak = 2                 // two overlap, however slow the machine
	r.agent.hold = 20 * time.Millisecond // time for a third to show up if the limit failed
	for range 10 {
		r.send("s@example.net", "ok@mx.example.test")
	}
	r.settle("all delivered", func() bool { return r.agent.count("ok@mx.example.test") == 10 })
	if p := r.agent.peak.Load(); p > 2 || p < 2 {
		t.Errorf("peak concurrency to one local user %d, want 2", p)
	}
}

// An agent's Release frees the destination's slot before its results:
// the next delivery starts while the released one finishes.
func TestReleaseFreesTheSlot(t *testing.T) {
	r := newRig(t, nil)
	r.agent.waitPeak = 3 // only released slots let a third one start
	r.agent.release = true
	for range 10 {
		r.send("s@example.net", "ok@mx.example.test")
	}
	r.settle("all delivered", func() bool { return r.agent.count("ok@mx.example.test") == 10 })
	if p := r.agent.peak.Load(); p <= 2 {
		t.Errorf("peak concurrency %d with early releases, want more than the limit 2", p)
	}
	r.settle("all removed", func() bool { return strings.Count(r.log.String(), ": removed") == 10 })
}

// reader is an agent that reads the content it delivers.
type reader struct{ got chan string }

func (a reader) Deliver(_ context.Context, req *deliver.Request) []deliver.Result {
	body := "unreadable"
	if rc, err := req.Content(); err == nil {
		b, _ := io.ReadAll(rc)
		rc.Close()
		body = string(b)
	}
	a.got <- body
	return []deliver.Result{{Rcpt: req.Rcpts[0], Kind: deliver.Sent, DSN: "2.0.0", Relay: "local"}}
}

// A small message's content comes from memory, read with its envelope:
// the deliveries open no queue file.
func TestSmallContentFromMemory(t *testing.T) {
	got := make(chan string, 1)
	r := newRig(t, func(c *Config) { c.Agents["local"] = reader{got} })
	r.send("s@example.net", "ok@mx.example.test")
	if body := <-got; body != "Subject: test\r\n\r\nhello\r\n" {
		t.Errorf("content %q", body)
	}
	if n := r.store.opened.Load(); n != 0 {
		t.Errorf("the queue file was opened %d times for content", n)
	}
}

// Scans of the deferred queue read a deferred file once, not at every
// scan, and again when it changes; a due message is tried again.
func TestDeferredScanReadsNoKnownFile(t *testing.T) {
	r := newRig(t, func(c *Config) { c.RunDelay = 10 * time.Millisecond })
	id := r.send("s@example.net", "soft@mx.example.test")
	r.settle("deferral", func() bool { _, q := r.store.snapshot(id); return q == queue.Deferred })
	count := func(m map[string]int) int {
		r.store.mu.Lock()
		defer r.store.mu.Unlock()
		return m[queue.Deferred]
	}
	reads, scans := count(r.store.reads), count(r.store.listed)
	r.settle("four scans", func() bool { return count(r.store.listed) >= scans+4 })
	if n := count(r.store.reads) - reads; n > 1 {
		t.Errorf("%d reads of a deferred file in four scans, want one at most", n)
	}
	r.advance(301 * time.Second) // past minimal_backoff_time
	r.settle("second attempt", func() bool { return strings.Count(r.log.String(), "status=deferred") >= 2 })
	// Another process makes it due now (postsuper -H): the changed file
	// is read again, and the message tried at once.
	r.settle("deferral", func() bool { _, q := r.store.snapshot(id); return q == queue.Deferred })
	r.store.rewrite(id, *r.now.Load())
	r.settle("attempt after the rewrite", func() bool { return strings.Count(r.log.String(), "status=deferred") >= 3 })
}

func TestUnknownTransportDefers(t *testing.T) {
	r := newRig(t, nil)
	id := r.send("s@example.net", "x@remote.example")
	r.settle("deferral", func() bool { _, q := r.store.snapshot(id); return q == queue.Deferred })
	if !strings.Contains(r.log.String(), `postern/smtp: `+id+`: to=<x@remote.example>, relay=none, delay=0, delays=0/0/0/0, dsn=4.3.0, status=deferred (mail transport unavailable: no "smtp" service in master.cf)`) {
		t.Errorf("log:\n%s", r.log)
	}
}

// passAgent answers as deliver.Pass does for an alias whose members'
// mailboxes went to mailbox_transport.
type passAgent struct{}

func (passAgent) Deliver(_ context.Context, req *deliver.Request) []deliver.Result {
	var out []deliver.Result
	for _, i := range req.Rcpts {
		passed := []deliver.Passed{
			{To: req.Env.Recipients[i], Result: deliver.Result{Kind: deliver.Sent, DSN: "2.0.0", Relay: "local", Reason: "delivered to file: /x"}},
			{Transport: "lmtp", To: queue.Recipient{Addr: "a@mx.example.test", Orig: "team@mx.example.test"},
				Result: deliver.Result{Kind: deliver.Sent, DSN: "2.0.0", Relay: "mx[private/lmtp]", Reason: "250 2.0.0 Saved"}},
			{Transport: "lmtp", To: queue.Recipient{Addr: "b@mx.example.test", Orig: "team@mx.example.test"},
				Result: deliver.Result{Kind: deliver.Sent, DSN: "2.0.0", Relay: "mx[private/lmtp]", Reason: "250 2.0.0 Saved"}},
		}
		out = append(out, deliver.Result{Rcpt: i, Kind: deliver.Sent, DSN: "2.0.0", Relay: "local", Reason: "combined", Passed: &passed})
	}
	return out
}

// mailbox_transport: each passed address is logged on its own line, by
// the transport, with to=<member>, orig_to=<alias>, as Postfix's lmtp
// logs it; the local agent's own delivery on its line.
func TestPassedDeliveriesLogged(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Agents["local"] = passAgent{} })
	id := r.send("s@example.net", "team@mx.example.test")
	r.settle("delivery", func() bool { _, q := r.store.snapshot(id); return q == "" })
	log := r.log.String()
	for _, want := range []string{
		"postern/local: " + id + ": to=<team@mx.example.test>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to file: /x)",
		"postern/lmtp: " + id + ": to=<a@mx.example.test>, orig_to=<team@mx.example.test>, relay=mx[private/lmtp], delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Saved)",
		"postern/lmtp: " + id + ": to=<b@mx.example.test>, orig_to=<team@mx.example.test>, relay=mx[private/lmtp], delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Saved)",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "combined") {
		t.Errorf("the combined result was logged:\n%s", log)
	}
}

// A recipient the router cannot classify (a table down) is deferred with
// the message's real delay, not one counted from the zero time.
func TestResolverFailureDefers(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.Router.IsLocal = func(d string) (bool, error) {
			if d == "broken.example" {
				return false, errors.New("table pgsql:/x: connection refused")
			}
			return d == "mx.example.test", nil
		}
	})
	id := r.send("s@example.net", "x@broken.example")
	r.settle("deferral", func() bool { _, q := r.store.snapshot(id); return q == queue.Deferred })
	if !strings.Contains(r.log.String(), `postern/qmgr: `+id+`: to=<x@broken.example>, relay=none, delay=0, delays=0/0/0/0, dsn=4.3.0, status=deferred (address resolver failure: table pgsql:/x: connection refused)`) {
		t.Errorf("log:\n%s", r.log)
	}
}

// A message queued through Queue starts at once, without a scan of the
// incoming queue; beyond ActiveLimit new messages wait for a scan, and
// none is lost.
func TestNewMessagesStartWithoutAScan(t *testing.T) {
	r := newRig(t, func(c *Config) { c.ActiveLimit = 2 })
	r.settle("start-up scans", func() bool { return r.store.lists(queue.Incoming) > 0 })
	before := r.store.lists(queue.Incoming)
	id := r.send("s@example.net", "ok@mx.example.test")
	r.settle("delivery", func() bool { m, _ := r.store.snapshot(id); return m == nil })
	if n := r.store.lists(queue.Incoming) - before; n != 0 {
		t.Errorf("incoming listed %d times for one new message", n)
	}
	r.agent.hold = 10 * time.Millisecond
	for range 10 {
		r.send("s@example.net", "ok2@mx.example.test")
	}
	r.settle("all delivered", func() bool { return r.agent.count("ok2@mx.example.test") == 10 && len(r.store.ids()) == 0 })
	if r.store.lists(queue.Incoming) == before {
		t.Error("no scan picked up the messages beyond ActiveLimit")
	}
}

// reusedConn reports every recipient sent over a reused connection.
type reusedConn struct{}

func (reusedConn) Deliver(_ context.Context, req *deliver.Request) []deliver.Result {
	var out []deliver.Result
	for _, i := range req.Rcpts {
		out = append(out, deliver.Result{Rcpt: i, Kind: deliver.Sent, DSN: "2.0.0", Reason: "250 2.0.0 Ok",
			Relay: "mx.example.net[192.0.2.1]:25", ConnUse: 3})
	}
	return out
}

func TestConnUseLogged(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Agents["smtp"] = reusedConn{} })
	id := r.send("s@example.net", "x@remote.example")
	r.settle("removal", func() bool { m, _ := r.store.snapshot(id); return m == nil })
	if !strings.Contains(r.log.String(), "to=<x@remote.example>, relay=mx.example.net[192.0.2.1]:25, conn_use=3, delay=") {
		t.Errorf("no conn_use in the delivery line:\n%s", r.log)
	}
}

// downRelay cannot connect: every recipient deferred with relay=none.
type downRelay struct{ calls atomic.Int32 }

func (d *downRelay) Deliver(_ context.Context, req *deliver.Request) []deliver.Result {
	d.calls.Add(1)
	time.Sleep(10 * time.Millisecond)
	var out []deliver.Result
	for _, i := range req.Rcpts {
		out = append(out, deliver.Result{Rcpt: i, Kind: deliver.Deferred, DSN: "4.4.1", Relay: "none",
			Reason: "connect to relay.example[192.0.2.9]:25: Connection refused"})
	}
	return out
}

// A destination that cannot be reached is suspended: the other messages
// for it are deferred at once with Postfix's "delivery temporarily
// suspended" instead of each taking a delivery slot; after
// minimal_backoff_time it is tried again.
func TestDeadDestinationIsSuspended(t *testing.T) {
	down := &downRelay{}
	r := newRig(t, func(c *Config) {
		c.Agents["smtp"] = down
		c.Limits = func(string) (int, int) { return 1, 50 }
	})
	var ids []string
	for range 5 {
		ids = append(ids, r.send("s@example.net", "x@remote.example"))
	}
	r.settle("all deferred", func() bool {
		for _, id := range ids {
			if _, q := r.store.snapshot(id); q != queue.Deferred {
				return false
			}
		}
		return true
	})
	if n := down.calls.Load(); n != 1 {
		t.Errorf("the dead relay was tried %d times, want 1", n)
	}
	if c := strings.Count(r.log.String(), "status=deferred (delivery temporarily suspended: connect to relay.example[192.0.2.9]:25: Connection refused)"); c != 4 {
		t.Errorf("%d suspended deferrals, want 4:\n%s", c, r.log)
	}
	r.advance(10 * time.Minute) // past minimal_backoff_time: tried again
	r.mgr.Flush()
	r.settle("retry", func() bool { return down.calls.Load() >= 2 })
}

// On a full disk, a deferral that cannot be recorded is still logged
// (status=deferred: the recipient stays pending, as the line says), and
// the shortage is warned about once, not once per message or attempt.
func TestDeferralOnAFullDisk(t *testing.T) {
	r := newRig(t, nil)
	r.store.mu.Lock()
	r.store.full = true
	r.store.mu.Unlock()
	ids := []string{r.send("s@example.net", "soft1@mx.example.test"), r.send("s@example.net", "soft2@mx.example.test")}
	r.settle("both attempts", func() bool { return strings.Count(r.log.String(), "status=deferred") == 2 })
	log := r.log.String()
	for i, id := range ids {
		if want := fmt.Sprintf("%s: to=<soft%d@mx.example.test>, relay=local, ", id, i+1); !strings.Contains(log, want) {
			t.Errorf("no deferral logged for %s:\n%s", id, log)
		}
	}
	if n := strings.Count(log, "no space left on device"); n != 1 {
		t.Errorf("%d warnings about the full disk, want 1:\n%s", n, log)
	}
}
