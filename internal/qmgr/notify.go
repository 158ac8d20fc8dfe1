package qmgr

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/postern-mta/postern/internal/bounce"
	"github.com/postern-mta/postern/internal/queue"
)

// notify sends the notices due: failures and successes the sender asked
// for, and a delay warning once delay_warning_time has passed. A notice
// is queued before the recipients it covers are marked Notified.
func (j *job) notify() {
	var failed, sent []int
	for i, st := range j.msg.Status {
		switch {
		case st.Notified:
		case st.State == queue.Bounced:
			failed = append(failed, i)
		case st.State == queue.Sent:
			sent = append(sent, i)
		}
	}
	j.send(bounce.Failure, failed, "sender non-delivery notification")
	if !j.completed {
		j.send(bounce.Success, sent, "sender delivery status notification")
	}
	if !j.completed {
		j.delayWarning()
	}
}

func (j *job) send(kind bounce.Kind, rcpts []int, what string) {
	if len(rcpts) == 0 {
		return
	}
	if _, err := j.enqueueNotice(kind, rcpts, what); err != nil {
		return // the recipients stay un-notified: tried again next round
	}
	updates := map[int]queue.RcptStatus{}
	for _, i := range rcpts {
		st := j.msg.Status[i]
		st.Notified = true
		updates[i] = st
	}
	j.update(updates)
}

// delayWarning sends the one "delayed mail" notice a message gets.
func (j *job) delayWarning() {
	dw := j.cfg.DelayWarning
	if dw <= 0 || j.msg.DelayWarned || j.cfg.Now().Sub(j.msg.Envelope.Arrival) < dw {
		return
	}
	var rcpts []int
	for i, st := range j.msg.Status {
		if st.State == queue.Pending && bounce.Wanted(bounce.Delay, &j.msg.Envelope, i, j.cfg.Hostname) {
			rcpts = append(rcpts, i)
		}
	}
	if len(rcpts) > 0 {
		if _, err := j.enqueueNotice(bounce.Delay, rcpts, "sender delay notification"); err != nil {
			return
		}
	}
	if err := j.m.store.SetDelayWarned(queue.Active, j.msg.ID); err == nil {
		j.msg.DelayWarned = true
	}
}

// enqueueNotice composes a notice and queues it as new mail.
func (j *job) enqueueNotice(kind bounce.Kind, rcpts []int, what string) (string, error) {
	log := j.m.log("bounce")
	content, err := j.m.store.Content(queue.Active, j.msg.ID)
	if err != nil {
		log.Warn(fmt.Sprintf("%s: %s: %v", j.msg.ID, what, err))
		return "", err
	}
	defer content.Close()
	life := j.cfg.MaxLifetime
	if j.msg.Envelope.Sender == "" {
		life = j.cfg.BounceLifetime
	}
	newID := queue.NewID()
	env, body, err := bounce.Compose(&bounce.Params{Kind: kind, ID: j.msg.ID, Env: &j.msg.Envelope, Rcpts: rcpts,
		Status: j.msg.Status, Content: content, Hostname: j.cfg.Hostname, MailName: j.cfg.MailName,
		Now: j.cfg.Now(), NewID: newID, MaxReturned: j.cfg.BounceSizeLimit,
		DelayWarning: j.cfg.DelayWarning, MaxQueueLifetime: life})
	if err != nil {
		log.Warn(fmt.Sprintf("%s: %s: %v", j.msg.ID, what, err))
		return "", err
	}
	env.ID = newID
	if env, err = j.m.rewrite(context.Background(), env); err != nil {
		log.Warn(fmt.Sprintf("%s: %s: %v", j.msg.ID, what, err))
		return "", err
	}
	id, err := j.m.store.Enqueue(context.Background(), env, io.NopCloser(bytes.NewReader(body)))
	if err != nil {
		j.m.warnStore("bounce", "%s: %s: cannot queue it: %v", j.msg.ID, what, err)
		return "", err
	}
	log.Info(fmt.Sprintf("%s: %s: %s", j.msg.ID, what, id))
	j.m.Kick()
	return id, nil
}
