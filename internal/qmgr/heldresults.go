package qmgr

import (
	"time"
)

// Held results. A message whose recipients go out in several requests
// at once — a local message for many users: local(8) takes one
// recipient per request (local_destination_recipient_limit = 1) — would
// append and fsync one record to its queue file per recipient, the
// largest cost of such a message after the copies themselves. Instead
// the job holds the outcomes in memory while other requests of the
// message are still under way and persists them together: once the
// last request has reported (deliverAll), or when the oldest held
// outcome has waited maxHold. Usually that is one removal of the queue
// file (Store.Complete) for the whole message and no Update at all.
//
// What a crash costs: the outcomes held at that moment are not in the
// queue file, so those recipients are tried again. A Maildir copy is
// then found under its name (queue ID and recipient index,
// mailstore.MaildirName) and not made twice; other deliveries (mbox,
// commands, files, forwarding) may be made twice, as when a crash falls
// between a delivery and its record, only over a wider window (at most
// maxHold). Nothing is logged before it is recorded, and nothing is
// reported to anyone (notices, removal) before it is recorded either:
// those steps come after deliverAll.

// maxHold bounds how long an outcome stays in memory only
// (Manager.maxHold; tests shorten it).
const maxHold = time.Second

// holdState is a job's held outcomes; guarded by job.holdMu.
type holdState struct {
	on    bool      // the job holds outcomes (more than one request)
	held  []outcome // not yet persisted
	since time.Time // when the oldest of held arrived
	timer *time.Timer
}

// holdResults makes the job hold outcomes until flushHeld.
func (j *job) holdResults() {
	j.holdMu.Lock()
	j.hs.on = true
	j.holdMu.Unlock()
}

// hold keeps o for a later persist and reports whether it did; an
// outcome that finds the oldest held one maxHold old is persisted with
// them at once.
func (j *job) hold(o outcome) bool {
	j.holdMu.Lock()
	if !j.hs.on {
		j.holdMu.Unlock()
		return false
	}
	now := time.Now()
	if len(j.hs.held) == 0 {
		j.hs.since = now
		if j.hs.timer == nil {
			j.hs.timer = time.AfterFunc(j.m.maxHold, j.flushHeld)
		} else {
			j.hs.timer.Reset(j.m.maxHold)
		}
	}
	j.hs.held = append(j.hs.held, o)
	due := now.Sub(j.hs.since) >= j.m.maxHold
	j.holdMu.Unlock()
	if due {
		j.flushHeld()
	}
	return true
}

// flushHeld persists the held outcomes, in one update. Flushes run one
// at a time, so that a later outcome of a recipient (none today: each
// is in one request) could not be overtaken by an earlier one.
func (j *job) flushHeld() {
	j.flushMu.Lock()
	defer j.flushMu.Unlock()
	j.holdMu.Lock()
	held := j.hs.held
	j.hs.held = nil
	if j.hs.timer != nil {
		j.hs.timer.Stop()
	}
	j.holdMu.Unlock()
	if len(held) > 0 {
		j.persist(held)
	}
}

// stopHolding persists what is held and persists later outcomes at once.
func (j *job) stopHolding() {
	j.holdMu.Lock()
	j.hs.on = false
	j.holdMu.Unlock()
	j.flushHeld()
}
