package qmgr

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/postern-mta/postern/internal/bounce"
	"github.com/postern-mta/postern/internal/queue"
)

// Direct delivery (direct_local_delivery, a postern extension): a small
// message for one local recipient whose mailbox is a Maildir of its own
// (no alias, so nothing runs or forwards; no mbox, which mail readers
// lock) is delivered while the SMTP client waits, and answered 250 once
// the copy is durable there (file and directory fsynced), so it never
// needs a queue file. Anything else, and any attempt that does not
// deliver, is queued as usual, with the same queue ID: the queue's
// attempt then finds a copy the direct one left (see
// mailstore.MaildirName) instead of making a second. The attempt takes the same
// destination and process slots a queued delivery would, if one is free
// within directSlotWait (the client is not kept waiting behind a
// backlog: its message joins the queue), and logs the same lines (its
// from= line with the delivery's), so limits and maillog readers see no
// difference; a declined or failed attempt logs nothing.

// directSlotWait bounds the wait of a direct attempt for its slots: a
// few deliveries' time when the user's deliveries keep up.
const directSlotWait = 100 * time.Millisecond

// directLimit is the largest message delivered directly: smtpd keeps
// messages of up to 64 KiB in memory.
const directLimit = inlineContent

// deliverDirect tries a direct delivery of the message in body and
// reports whether it was delivered. It returns the content it read, for
// the queue, when it was not.
func (m *Manager) deliverDirect(ctx context.Context, env *queue.Envelope, body io.Reader) (delivered bool, content []byte) {
	br, ok := body.(*bytes.Reader)
	cfg := m.config()
	if !ok || br.Len() > directLimit || !m.directEligible(cfg, env) {
		return false, nil
	}
	content = make([]byte, br.Len())
	if _, err := io.ReadFull(br, content); err != nil {
		return false, nil
	}
	rt, err := cfg.Router.Resolve(env.Recipients[0].Addr)
	if err != nil || rt.Transport != "local" {
		return false, content
	}
	runCtx, ok := m.enterDirect(env.ID)
	if !ok {
		return false, content
	}
	defer m.leaveDirect(env.ID)
	// The session's context, ended by the manager's too: Run waits for
	// this delivery when it stops, as for its own.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(runCtx, cancel)()

	e := *env
	if e.Arrival.IsZero() {
		e.Arrival = cfg.Now()
	}
	msg := &queue.Message{ID: e.ID, Queue: queue.Active, Envelope: e,
		Status: make([]queue.RcptStatus, 1), Size: int64(len(content))}
	wait, stopWaiting := context.WithTimeout(ctx, m.directWait)
	defer stopWaiting()
	j := &job{m: m, cfg: cfg, msg: msg, activated: cfg.Now(), content: content, direct: true, slotWait: wait}
	conc, _ := j.limits(group{route: rt, rcpts: []int{0}})
	j.deliverChunk(ctx, rt, []int{0}, conc)
	if !j.completed {
		return false, content
	}
	m.log("qmgr").Info(fmt.Sprintf("%s: removed", e.ID))
	return true, nil
}

// directEligible is what can be known before routing: the feature is on,
// the manager runs, one recipient with a queue ID, no success notice.
func (m *Manager) directEligible(cfg *Config, env *queue.Envelope) bool {
	if !cfg.Direct || cfg.Router == nil || len(env.Recipients) != 1 || !queue.ValidID(env.ID) {
		return false
	}
	if _, ok := cfg.Agents["local"]; !ok {
		return false
	}
	return !bounce.Wanted(bounce.Success, env, 0, cfg.Hostname)
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
