package pickup

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/queue"
)

// runStages holds the rewritten content of a local submission, runs the
// content stages (non_smtpd_milters, DKIM signing) over it and queues
// the result (cleanup.Run), on hold when a stage said so. An error from
// reading the content (ErrMalformed, errTooBig) or from the queue
// (queueError) leaves the decision to the caller, as without stages; a
// stage's temporary refusal (4xx) keeps the maildrop file for the next
// scan. A permanent refusal is returned to the sender (refused). A
// message whose recipients the stages all deleted is dropped with a log
// line (noRecipients), as Postfix drops it.
func (p *Pickup) runStages(ctx context.Context, cfg *Config, env *queue.Envelope, uid uint32, body io.Reader) error {
	sp := cleanup.NewSpool(filepath.Join(cfg.QueueDir, "tmp"))
	if _, err := io.Copy(sp, body); err != nil {
		sp.Close()
		return err
	}
	m, err := cleanup.NewMessage(env, cleanup.Origin{Local: true, UID: int(uid), Service: "pickup"}, sp)
	if err != nil {
		return err
	}
	defer m.Close()
	addressed := slices.Clone(env.Recipients)
	_, v, err := cleanup.Run(ctx, p.q, m, cfg.Stages)
	if err != nil {
		return queueError(err)
	}
	if v.Action == cleanup.Reject && len(m.Env.Recipients) == 0 {
		if v.Reply == cleanup.NoRecipients {
			p.noRecipients(m)
			return nil
		}
		// One stage deleted them all, a later one refused the message:
		// the sender hears about the recipients they addressed.
		m.Env.Recipients = addressed
	}
	word := v.Word()
	switch v.Action {
	case cleanup.Hold:
		p.logStage(env, word+"-hold", word+" triggers HOLD action")
	case cleanup.Discard:
		p.logStage(env, word+"-discard", word+" triggers DISCARD action")
	case cleanup.Reject:
		lines := v.ReplyLines()
		p.logStage(env, word+"-reject", lines[0][4:])
		if lines[0][0] == '4' {
			return fmt.Errorf("%s: %s: %s; will try again", env.ID, word, lines[0])
		}
		return p.refused(ctx, m, lines)
	}
	return nil
}

// refused returns a local submission a stage rejected to its sender, as
// Postfix's cleanup bounces non-SMTP mail a milter rejects: the
// submitter is gone, and nobody else can be told. The message is queued
// with every recipient failed (queue.Bouncer: the queue manager sends
// the notice and removes it). A queue that cannot do that gets it on
// hold instead, with the reason logged: nothing is lost.
func (p *Pickup) refused(ctx context.Context, m *cleanup.Message, lines []string) error {
	code, text, _ := strings.Cut(lines[0], " ")
	dsn := "5.7.1"
	if d, rest, ok := strings.Cut(text, " "); ok && isDSN(d) {
		dsn, text = d, rest
	}
	var joined []string
	for _, l := range lines {
		joined = append(joined, l[4:])
	}
	st := queue.RcptStatus{State: queue.Bounced, Action: "failed", DSN: dsn, Reason: text,
		Diagnostic: "x-unix; " + code + " " + strings.Join(joined, " ")}
	if b, ok := p.q.(queue.Bouncer); ok {
		if _, err := b.EnqueueBounced(ctx, m.Env, m.Content(), st); err != nil {
			return queueError(err)
		}
		return nil
	}
	m.Env.Hold = true
	if _, err := p.q.Enqueue(ctx, m.Env, m.Content()); err != nil {
		return queueError(err)
	}
	p.logger("cleanup").Warn(fmt.Sprintf("%s: refused by a content stage: kept on hold (postsuper -H releases it, -d removes it)", m.Env.ID))
	return nil
}

// noRecipients logs a local submission whose recipients the content
// stages all deleted (a milter's SMFIR_DELRCPT for each): nothing is
// queued, nobody is told, and the caller removes the maildrop file.
// Postfix's cleanup counts recipients before its milters run, so it
// queues such a message with every recipient marked deleted, and its
// queue manager finds nothing to deliver and removes it ("nrcpt=0",
// "removed"): no bounce, no milter-reject. Postern does not write the
// queue file; the two lines say the same.
func (p *Pickup) noRecipients(m *cleanup.Message) {
	log := p.logger("cleanup")
	log.Info(fmt.Sprintf("%s: from=<%s>, nrcpt=0: every recipient was deleted by a content stage (milter); not queued",
		m.Env.ID, m.Env.Sender))
	log.Info(fmt.Sprintf("%s: removed", m.Env.ID))
}

// isDSN matches an enhanced status code, "5.7.1".
func isDSN(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || s[0] != '4' && s[0] != '5' || len(parts[0]) != 1 {
		return false
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// logStage logs a stage's verdict as Postfix's cleanup does for a
// milter, for local mail: the client is localhost[127.0.0.1], as
// Postfix's cleanup names it for non-SMTP mail, without proto= and helo=.
func (p *Pickup) logStage(env *queue.Envelope, action, text string) {
	line := fmt.Sprintf("%s: %s: END-OF-MESSAGE from localhost[127.0.0.1]: %s; from=<%s>", env.ID, action, text, env.Sender)
	if len(env.Recipients) > 0 {
		line += fmt.Sprintf(" to=<%s>", env.Recipients[0].Addr)
	}
	p.logger("cleanup").Info(line)
}
