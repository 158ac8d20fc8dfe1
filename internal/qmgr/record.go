package qmgr

import (
	"fmt"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/bounce"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
	"github.com/postern-mta/postern/internal/route"
)

// record persists an agent's results, then logs them: a recipient is
// logged as sent only once the queue file says so, or the message is
// durably gone. A message delivered in several requests at once (one
// per local recipient) holds its results in memory and persists them
// together (heldresults.go).
func (j *job) record(rt route.Route, t timing, results []deliver.Result) {
	o := j.outcome(rt, t, results)
	if j.hold(o) {
		return
	}
	j.persist([]outcome{o})
}

// outcome is the results of one request, ready to persist: the new
// recipient states and the maillog lines of each result.
type outcome struct {
	updates map[int]queue.RcptStatus
	results []deliver.Result
	lines   [][]logLine // by result
}

// outcome turns an agent's results into states and lines.
func (j *job) outcome(rt route.Route, t timing, results []deliver.Result) outcome {
	now := j.cfg.Now()
	t.setup, t.transfer = 0, 0
	updates := make(map[int]queue.RcptStatus, len(results))
	lines := make([][]logLine, 0, len(results)) // by result
	for _, r := range results {
		r = j.softBounce(r)
		st := j.status(r)
		st.At = now
		updates[r.Rcpt] = st
		if r.Passed == nil {
			lines = append(lines, []logLine{j.line(rt.Transport, j.msg.Envelope.Recipients[r.Rcpt], r, t, now)})
			continue
		}
		// mailbox_transport: each delivery on its own line, as Postfix's
		// local and lmtp log them.
		var ls []logLine
		for _, p := range *r.Passed {
			program := p.Transport
			if program == "" {
				program = rt.Transport
			}
			ls = append(ls, j.line(program, p.To, j.softBounce(p.Result), t, now))
		}
		lines = append(lines, ls)
	}
	return outcome{updates: updates, results: results, lines: lines}
}

// persist writes the states of outcomes in one update, then logs them.
func (j *job) persist(outs []outcome) {
	updates := outs[0].updates
	if len(outs) > 1 {
		updates = make(map[int]queue.RcptStatus)
		for _, o := range outs {
			for i, st := range o.updates {
				updates[i] = st
			}
		}
	}
	if !j.update(updates) {
		// Not recorded: every recipient stays pending and is tried
		// again. A deferral is then what happened, and is logged as
		// such; a delivery is logged when a later attempt records it.
		if !j.direct {
			for _, o := range outs {
				for i, r := range o.results {
					if updates[r.Rcpt].State == queue.Pending {
						j.logLines(o.lines[i])
					}
				}
			}
		}
		return
	}
	if j.direct { // its from= line waited for a delivery to report
		j.logFrom()
	}
	for _, o := range outs {
		for i, ls := range o.lines {
			if j.direct && !updates[o.results[i].Rcpt].Done() {
				continue // queued: the queue's attempt logs it
			}
			j.logLines(ls)
		}
	}
}

// updateDirect records a direct attempt's outcomes (direct.go) in
// memory: there is no queue file. Only final outcomes count, each
// recipient's own (what is left is queued, without the recipients done);
// false when none is final.
func (j *job) updateDirect(updates map[int]queue.RcptStatus) bool {
	some := false
	for i, st := range updates {
		if st.Done() {
			j.msg.Status[i] = st
			some = true
		}
	}
	j.completed = j.done()
	return some
}

// logLine is one delivery line and the program that logs it.
type logLine struct{ program, text string }

func (j *job) logLines(ls []logLine) {
	for _, l := range ls {
		j.m.log(l.program).Info(l.text)
	}
}

// softBounce turns a bounce into a deferral under soft_bounce = yes.
func (j *job) softBounce(r deliver.Result) deliver.Result {
	if j.cfg.SoftBounce && r.Kind == deliver.Bounced {
		r.Kind, r.DSN = deliver.Deferred, "4"+strings.TrimPrefix(r.DSN, "5")
	}
	return r
}

// line is the delivery line of r for rcpt, logged by program.
func (j *job) line(program string, rcpt queue.Recipient, r deliver.Result, t timing, now time.Time) logLine {
	t.setup, t.transfer = r.Setup, r.Transfer
	status := map[deliver.Kind]string{deliver.Sent: "sent", deliver.Deferred: "deferred", deliver.Bounced: "bounced"}[r.Kind]
	relay := orNone(r.Relay)
	if r.ConnUse > 1 { // Postfix marks deliveries over a reused connection
		relay += fmt.Sprintf(", conn_use=%d", r.ConnUse)
	}
	return logLine{program, fmt.Sprintf("%s: %s, relay=%s, %s, dsn=%s, status=%s (%s)", j.msg.ID,
		toField(rcpt), relay, t.String(now), r.DSN, status, r.Reason)}
}

// status turns an agent's result into the persisted recipient state.
func (j *job) status(r deliver.Result) queue.RcptStatus {
	st := queue.RcptStatus{DSN: r.DSN, Reason: r.Reason, Diagnostic: r.Diagnostic, RemoteMTA: r.RemoteMTA, Action: r.Action}
	env := &j.msg.Envelope
	switch r.Kind {
	case deliver.Sent:
		st.State = queue.Sent
		if st.Action == "" {
			st.Action = "delivered"
		}
		st.Notified = !bounce.Wanted(bounce.Success, env, r.Rcpt, j.cfg.Hostname)
	case deliver.Bounced:
		st.State, st.Action = queue.Bounced, "failed"
		st.Notified = !bounce.Wanted(bounce.Failure, env, r.Rcpt, j.cfg.Hostname)
	default:
		st.State, st.Action = queue.Pending, "delayed"
	}
	return st
}

// update writes new recipient states to the queue file and to memory.
// When they leave nothing to do for the message, the message is removed
// instead (Store.Complete): its removal is the record, made durable in
// the background by a directory fsync that the removals of 10 ms share
// (a power loss before it delivers the message again, never loses it),
// where an Update would fsync the file and a removal would follow anyway.
func (j *job) update(updates map[int]queue.RcptStatus) bool {
	if len(updates) == 0 {
		return true
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.direct {
		return j.updateDirect(updates)
	}
	if j.doneWith(updates) {
		err := j.m.store.Complete(queue.Active, j.msg.ID)
		if err == nil {
			j.apply(updates)
			j.completed = true
			return true
		}
		// Not removed (or not durably): record the outcome as usual.
		j.m.warnStore("qmgr", "%s: remove: %v", j.msg.ID, err)
	}
	if err := j.m.store.Update(queue.Active, j.msg.ID, updates); err != nil {
		// The outcome is lost; the recipient stays pending and will be
		// tried again: a duplicate is better than a loss.
		j.m.warnStore("qmgr", "%s: cannot record delivery status: %v", j.msg.ID, err)
		return false
	}
	j.apply(updates)
	return true
}

func (j *job) apply(updates map[int]queue.RcptStatus) {
	for i, st := range updates {
		j.msg.Status[i] = st
	}
}

// doneWith reports whether nothing would be left to do for the message
// with updates applied. The caller holds j.mu.
func (j *job) doneWith(updates map[int]queue.RcptStatus) bool {
	for i, st := range j.msg.Status {
		if u, ok := updates[i]; ok {
			st = u
		}
		if !st.Done() {
			return false
		}
	}
	return true
}

// expire returns recipients still pending after the queue lifetime
// (bounce_queue_lifetime for null-sender mail) to the sender.
func (j *job) expire() {
	life := j.cfg.MaxLifetime
	if j.msg.Envelope.Sender == "" {
		life = j.cfg.BounceLifetime
	}
	now := j.cfg.Now()
	if now.Sub(j.msg.Envelope.Arrival) < life {
		return
	}
	updates := map[int]queue.RcptStatus{}
	var lines []string
	t := timing{arrival: j.msg.Envelope.Arrival, activated: j.activated, handed: now}
	for i, st := range j.msg.Status {
		if st.State != queue.Pending {
			continue
		}
		st.State, st.Action, st.At = queue.Bounced, "failed", now
		if st.DSN == "" {
			st.DSN = "4.7.0"
		}
		if st.Reason == "" {
			st.Reason = "message is too old"
		}
		st.Notified = !bounce.Wanted(bounce.Failure, &j.msg.Envelope, i, j.cfg.Hostname)
		updates[i] = st
		lines = append(lines, fmt.Sprintf("%s: %s, relay=none, %s, dsn=%s, status=expired, returned to sender (%s)",
			j.msg.ID, toField(j.msg.Envelope.Recipients[i]), t.String(now), st.DSN, st.Reason))
	}
	if j.update(updates) {
		for _, l := range lines {
			j.m.log("qmgr").Info(l)
		}
	}
}

// done reports whether nothing is left to do for the message.
func (j *job) done() bool {
	for _, st := range j.msg.Status {
		if !st.Done() {
			return false
		}
	}
	return true
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
