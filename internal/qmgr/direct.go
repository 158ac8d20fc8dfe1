package qmgr

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/postern-mta/postern/internal/bounce"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/route"
)

// Direct delivery (direct_local_delivery and direct_lmtp_delivery,
// postern extensions): a small message is delivered while the SMTP
// client waits, and answered 250 once every copy is durable, so it never
// needs a queue file:
//
//   - local: one recipient whose mailbox is a Maildir of its own (no
//     alias, so nothing runs or forwards; no mbox, which mail readers
//     lock), durable once the copy and its directory are fsynced;
//   - lmtp: recipients that all go to one lmtp next hop (in one
//     transaction: at most the transport's recipient limit), durable
//     once the LMTP server answered 250 for each, as it does after
//     storing the copy (Dovecot: as its mail_fsync says).
//
// Anything else, and whatever an attempt does not deliver, is queued as
// usual, with the same queue ID. A local attempt's queued retry finds
// the copy the direct one may have left (see mailstore.MaildirName)
// instead of making a second; an lmtp attempt's leftovers are queued
// without the recipients the server accepted (they are logged as sent),
// so that no accepted recipient is delivered twice, unless the queue
// then refuses them (a disk that filled during the attempt): the client
// is answered 4xx and its retry reaches the accepted ones again. An
// attempt for several recipients is made only when the queue has room
// (CheckSpace). An outcome the
// attempt cannot know (the connection lost after the end of data) is
// queued and may be delivered twice, as with Postfix's lmtp.
//
// The attempt takes the same destination and process slots a queued
// delivery would, if one is free within directSlotWait (the client is
// not kept waiting behind a backlog: its message joins the queue), and
// logs the same lines (its from= line with the delivery's), so limits
// and maillog readers see no difference; a recipient not delivered is
// logged by the queue's attempt, not the direct one.

// directSlotWait bounds the wait of a direct attempt for its slots: a
// few deliveries' time when the user's deliveries keep up.
const directSlotWait = 100 * time.Millisecond

// directLMTPTime bounds a direct lmtp attempt as a whole, whatever the
// lmtp_*_timeout settings (lmtp_data_done_timeout is 600 s): the client
// waits no longer before its message is queued. An attempt cut short
// after the end of data is queued and may be delivered twice.
const directLMTPTime = 60 * time.Second

// directLimit is the largest message delivered directly: smtpd keeps
// messages of up to 64 KiB in memory.
const directLimit = inlineContent

// direct is the outcome of a direct attempt.
type direct struct {
	delivered bool   // every recipient: nothing to queue
	content   []byte // the content read, for the queue; nil: none read
	// queue is the envelope to queue when not delivered: env, or a copy
	// without the recipients the attempt delivered.
	queue *queue.Envelope
}

// deliverDirect tries a direct delivery of the message in body.
func (m *Manager) deliverDirect(ctx context.Context, env *queue.Envelope, body io.Reader) direct {
	out := direct{queue: env}
	br, ok := body.(*bytes.Reader)
	cfg := m.config()
	if !ok || br.Len() > directLimit || !m.directEligible(cfg, env) {
		return out
	}
	out.content = make([]byte, br.Len())
	if _, err := io.ReadFull(br, out.content); err != nil {
		return direct{queue: env}
	}
	rt, ok := directRoute(cfg, env)
	if !ok {
		return out
	}
	// An attempt that may leave recipients to queue goes only where the
	// queue has room for them: were their queueing refused after the
	// server took the others, the client's retry would deliver those
	// twice. (Space can still run out during the attempt.)
	if sc, ok := m.store.(queue.SpaceChecker); ok && len(env.Recipients) > 1 && sc.CheckSpace(int64(len(out.content))) != nil {
		return out
	}
	rcpts := make([]int, len(env.Recipients))
	for i := range rcpts {
		rcpts[i] = i
	}
	j := &job{m: m, cfg: cfg, activated: cfg.Now(), content: out.content, direct: true}
	if !m.attemptDirect(ctx, j, env, rt, rcpts) {
		return out
	}
	if j.completed {
		m.log("qmgr").Info(fmt.Sprintf("%s: removed", env.ID))
		return direct{delivered: true}
	}
	out.queue = j.undelivered(env)
	return out
}

// attemptDirect runs j's delivery as a direct one, if the manager runs
// and has room for it (false if not).
func (m *Manager) attemptDirect(ctx context.Context, j *job, env *queue.Envelope, rt route.Route, rcpts []int) bool {
	runCtx, ok := m.enterDirect(env.ID)
	if !ok {
		return false
	}
	defer m.leaveDirect(env.ID)
	// The session's context, ended by the manager's too: Run waits for
	// this delivery when it stops, as for its own.
	var cancel context.CancelFunc
	if rt.Transport == "lmtp" {
		ctx, cancel = context.WithTimeout(ctx, directLMTPTime)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	defer context.AfterFunc(runCtx, cancel)()

	e := *env
	if e.Arrival.IsZero() {
		e.Arrival = j.cfg.Now()
	}
	j.msg = &queue.Message{ID: e.ID, Queue: queue.Active, Envelope: e,
		Status: make([]queue.RcptStatus, len(rcpts)), Size: int64(len(j.content))}
	wait, stopWaiting := context.WithTimeout(ctx, m.directWait)
	defer stopWaiting()
	j.slotWait = wait
	conc, _ := j.limits(group{route: rt, rcpts: rcpts})
	j.deliverChunk(ctx, rt, rcpts, conc)
	return true
}

// directRoute is the route of a message that may go direct: one local
// recipient (direct_local_delivery), or recipients that all go to one
// lmtp next hop in one transaction (direct_lmtp_delivery). It resolves
// no more recipients than that transaction could take.
func directRoute(cfg *Config, env *queue.Envelope) (route.Route, bool) {
	rt, err := cfg.Router.Resolve(env.Recipients[0].Addr)
	if err != nil {
		return route.Route{}, false
	}
	switch rt.Transport {
	case "local":
		_, ok := cfg.Agents["local"]
		return rt, cfg.Direct && ok && len(env.Recipients) == 1
	case "lmtp":
		if _, ok := cfg.Agents["lmtp"]; !ok || !cfg.DirectLMTP {
			return route.Route{}, false
		}
	default:
		return route.Route{}, false
	}
	j := &job{cfg: cfg}
	if _, limit := j.limits(group{route: rt, rcpts: make([]int, len(env.Recipients))}); limit < len(env.Recipients) {
		return route.Route{}, false // more than one transaction
	}
	for _, r := range env.Recipients[1:] {
		if x, err := cfg.Router.Resolve(r.Addr); err != nil || x != rt {
			return route.Route{}, false
		}
	}
	return rt, true
}

// undelivered is env without the recipients the direct attempt
// delivered (env itself when it delivered none).
func (j *job) undelivered(env *queue.Envelope) *queue.Envelope {
	var left []queue.Recipient
	for i, st := range j.msg.Status {
		if !st.Done() {
			left = append(left, env.Recipients[i])
		}
	}
	if len(left) == len(env.Recipients) {
		return env
	}
	e := *env
	e.Recipients = left
	return &e
}

// directEligible is what can be known before routing: direct delivery is
// on, the manager runs, the message has a queue ID, no success notice.
func (m *Manager) directEligible(cfg *Config, env *queue.Envelope) bool {
	if !cfg.Direct && !cfg.DirectLMTP || cfg.Router == nil || len(env.Recipients) == 0 || !queue.ValidID(env.ID) {
		return false
	}
	for i := range env.Recipients {
		if bounce.Wanted(bounce.Success, env, i, cfg.Hostname) {
			return false
		}
	}
	return true
}

// enterDirect counts a direct delivery as an active message (ActiveLimit,
// and the deliveries Run waits for), if the manager runs and has room.
func (m *Manager) enterDirect(id string) (runCtx context.Context, ok bool) {
	m.mu.Lock()
	runCtx = m.runCtx
	if runCtx == nil || m.stopped {
		m.mu.Unlock()
		return nil, false
	}
	m.wg.Add(1)
	m.mu.Unlock()
	select {
	case m.msgs <- struct{}{}:
	default:
		m.wg.Done()
		return nil, false
	}
	if !m.claim(id) {
		<-m.msgs
		m.wg.Done()
		return nil, false
	}
	return runCtx, true
}

func (m *Manager) leaveDirect(id string) {
	m.release(id)
	<-m.msgs
	m.wg.Done()
}
