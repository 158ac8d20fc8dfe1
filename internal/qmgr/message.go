package qmgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/route"
)

// job is one message being worked on.
type job struct {
	m         *Manager
	cfg       *Config // the configuration when the round began
	msg       *queue.Message
	activated time.Time
	content   []byte     // a small message's content, read with its envelope
	mu        sync.Mutex // guards msg.Status while deliveries run
	// Outcomes held while other requests of the message run
	// (heldresults.go).
	holdMu    sync.Mutex
	hs        holdState
	flushMu   sync.Mutex // one flush at a time
	completed bool       // removed by update (Store.Complete)
	direct    bool       // a direct delivery (direct.go): no queue file
	// slotWait, when set, bounds the waits for slots (direct.go) apart
	// from the deliveries themselves.
	slotWait context.Context
}

// process takes one message through one round of deliveries.
func (m *Manager) process(ctx context.Context, id, from string) {
	cfg := m.config()
	qlog := m.log("qmgr")
	if from != queue.Active {
		if err := m.store.Activate(id, from); err != nil {
			if !errors.Is(err, queue.ErrNotFound) {
				qlog.Warn(fmt.Sprintf("%s: move to active: %v", id, err))
			}
			return
		}
	}
	msg, content, err := m.store.ReadWithContent(queue.Active, id, inlineContent)
	if err != nil {
		qlog.Warn(fmt.Sprintf("%s: %v: moving it to the corrupt queue", id, err))
		m.store.Move(id, queue.Active, queue.Corrupt)
		return
	}
	j := &job{m: m, cfg: cfg, msg: msg, activated: cfg.Now(), content: content}
	j.logFrom()

	j.deliverAll(ctx)
	if !j.completed && ctx.Err() != nil {
		m.deferMessage(j) // shutting down: what is left waits for the next start
		return
	}
	if !j.completed {
		j.expire()
	}
	if !j.completed {
		j.notify()
	}
	if !j.completed && j.done() { // done before this round
		if err := m.store.Complete(queue.Active, id); err != nil {
			qlog.Warn(fmt.Sprintf("%s: remove: %v", id, err))
			return
		}
		j.completed = true
	}
	if j.completed {
		qlog.Info(fmt.Sprintf("%s: removed", id))
		return
	}
	m.deferMessage(j)
}

// waitCtx is what ends the job's waits for a slot.
func (j *job) waitCtx(ctx context.Context) context.Context {
	if j.slotWait != nil {
		return j.slotWait
	}
	return ctx
}

// logFrom logs the line that says a message is being worked on.
func (j *job) logFrom() {
	j.m.log("qmgr").Info(fmt.Sprintf("%s: from=<%s>, size=%d, nrcpt=%d (queue active)",
		j.msg.ID, j.msg.Envelope.Sender, j.msg.Size, len(j.msg.Envelope.Recipients)))
}

// inlineContent is the largest queue file whose content a job keeps in
// memory (at most ActiveLimit of them at once), as smtpd keeps messages
// of up to 64 KiB: its deliveries then read no file, and a local one
// reads nothing while it holds the user's delivery slot.
const inlineContent = 64 << 10

// openContent opens the message's content for a delivery.
func (j *job) openContent() (io.ReadCloser, error) {
	if j.content != nil {
		return io.NopCloser(bytes.NewReader(j.content)), nil
	}
	return j.m.store.Content(queue.Active, j.msg.ID)
}

// deferMessage puts a message with pending recipients in the deferred
// queue; its next attempt follows Postfix's backoff: the time it has
// spent in the queue, between minimal_ and maximal_backoff_time.
func (m *Manager) deferMessage(j *job) {
	now := j.cfg.Now()
	wait := now.Sub(j.msg.Envelope.Arrival)
	wait = max(wait, j.cfg.MinBackoff)
	if j.cfg.MaxBackoff > 0 {
		wait = min(wait, j.cfg.MaxBackoff)
	}
	if err := m.store.Defer(j.msg.ID, queue.Active, now.Add(wait)); err != nil {
		m.warnStore("qmgr", "%s: defer: %v", j.msg.ID, err)
	}
}

// group is the recipients of one message that go to one destination.
type group struct {
	route route.Route
	rcpts []int
}

// deliverAll routes the pending recipients and delivers to every
// destination at once, each within its limits.
func (j *job) deliverAll(ctx context.Context) {
	groups := map[route.Route][]int{}
	for i, r := range j.msg.Envelope.Recipients {
		if j.msg.Status[i].State != queue.Pending {
			continue
		}
		rt, err := j.cfg.Router.Resolve(r.Addr)
		if err != nil {
			t := timing{arrival: j.msg.Envelope.Arrival, activated: j.activated, handed: j.cfg.Now()}
			j.record(route.Route{Transport: "qmgr"}, t, []deliver.Result{{Rcpt: i, Kind: deliver.Deferred,
				DSN: "4.3.0", Reason: "address resolver failure: " + err.Error(), Relay: "none"}})
			continue
		}
		groups[rt] = append(groups[rt], i)
	}
	var list []group
	for rt, rcpts := range groups {
		list = append(list, group{rt, rcpts})
	}
	sort.Slice(list, func(a, b int) bool { return list[a].route.String() < list[b].route.String() })
	if len(list) == 1 && j.chunks(list[0]) == 1 { // the common case needs no goroutine
		j.deliverGroup(ctx, list[0], nil)
		return
	}
	// Several requests at once: their outcomes are persisted together.
	j.holdResults()
	defer j.stopHolding()
	var wg sync.WaitGroup
	for _, g := range list {
		j.deliverGroup(ctx, g, &wg)
	}
	wg.Wait()
}

// limits returns a transport's destination concurrency and recipients
// per delivery.
func (j *job) limits(g group) (conc, limit int) {
	conc, limit = 20, 50
	if j.cfg.Limits != nil {
		conc, limit = j.cfg.Limits(g.route.Transport)
	}
	if limit < 1 {
		limit = len(g.rcpts)
	}
	return conc, limit
}

// chunks is how many deliveries a group takes.
func (j *job) chunks(g group) int {
	_, limit := j.limits(g)
	return (len(g.rcpts) + limit - 1) / limit
}

// deliverGroup delivers a group's recipients a chunk at a time, each in
// its own goroutine counted in wg; without wg, in this one.
func (j *job) deliverGroup(ctx context.Context, g group, wg *sync.WaitGroup) {
	conc, limit := j.limits(g)
	for start := 0; start < len(g.rcpts); start += limit {
		chunk := g.rcpts[start:min(start+limit, len(g.rcpts))]
		if wg == nil {
			j.deliverChunk(ctx, g.route, chunk, conc)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			j.deliverChunk(ctx, g.route, chunk, conc)
		}()
	}
}

// deliverChunk hands recipients to their agent once a slot is free.
func (j *job) deliverChunk(ctx context.Context, rt route.Route, rcpts []int, conc int) {
	agent, ok := j.cfg.Agents[rt.Transport]
	if !ok {
		agent = deliver.Unavailable{Reason: fmt.Sprintf("mail transport unavailable: no %q service in master.cf", rt.Transport)}
	}
	key := rt.String()
	if rt.Transport == "local" { // local(8) delivers to one user at a time
		key += "/" + strings.ToLower(j.msg.Envelope.Recipients[rcpts[0]].Addr)
	}
	id := j.msg.ID
	req := &deliver.Request{ID: id, Env: &j.msg.Envelope, Rcpts: rcpts, Nexthop: rt.Nexthop, Size: j.msg.Size,
		Content: j.openContent, Body: j.content, DirectOnly: j.direct}
	if j.deferIfSuspended(rt, key, req) {
		return
	}
	dest := j.m.destination(key, conc)
	if !dest.acquire(j.waitCtx(ctx)) {
		return
	}
	t, results, ok := j.deliverInSlot(ctx, agent, rt, key, req, dest)
	if ok {
		// Recorded once the slots are free: the queue bookkeeping (a
		// shared directory fsync) need not hold up the next delivery
		// to the destination, as Postfix's qmgr frees a slot when the
		// agent reports, before it removes a finished message.
		j.record(rt, t, results)
	}
}

// deliverInSlot runs one delivery holding dest's slot, which it
// releases, and a process slot; false when nothing was delivered.
func (j *job) deliverInSlot(ctx context.Context, agent deliver.Agent, rt route.Route, key string, req *deliver.Request, dest *window) (timing, []deliver.Result, bool) {
	var success, failure bool // for the window's slow start
	var procSlot bool
	var once sync.Once
	release := func(success, failure bool) {
		once.Do(func() {
			dest.release(success, failure)
			if procSlot {
				<-j.m.procs
			}
		})
	}
	defer func() { release(success, failure) }()
	if j.deferIfSuspended(rt, key, req) { // it died while we waited
		return timing{}, nil, false
	}
	select {
	case j.m.procs <- struct{}{}:
		procSlot = true
	case <-j.waitCtx(ctx).Done():
		return timing{}, nil, false
	}

	t := timing{arrival: j.msg.Envelope.Arrival, activated: j.activated, handed: j.cfg.Now()}
	req.Release = func() { release(false, false) } // early: neither success nor failure
	results := agent.Deliver(ctx, req)
	if len(results) != len(req.Rcpts) { // an agent bug must not lose recipients
		results = deliver.Unavailable{Reason: "delivery agent returned no status"}.Deliver(ctx, req)
	} else if ctx.Err() == nil && rt.Transport != "local" {
		now := j.cfg.Now()
		failure = j.m.learn(key, results, now, now.Add(max(j.cfg.MinBackoff, time.Second)))
		for _, r := range results {
			success = success || r.Kind == deliver.Sent
		}
	}
	return t, results, true
}

// deferIfSuspended defers the request at once when its destination is
// suspended (dead.go), and says so.
func (j *job) deferIfSuspended(rt route.Route, key string, req *deliver.Request) bool {
	d, dead := j.m.suspended(key, j.cfg.Now())
	if dead {
		t := timing{arrival: j.msg.Envelope.Arrival, activated: j.activated, handed: j.cfg.Now()}
		j.record(rt, t, suspendedResults(req, d))
	}
	return dead
}
