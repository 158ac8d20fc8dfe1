package pickup

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/queue"
)

// runStages holds the rewritten content of a local submission and runs
// the content stages (non_smtpd_milters, DKIM signing) over it, then
// queues the result (cleanup.Run). It returns a nil reader when the
// message is done with: queued, discarded, or refused and kept on hold
// (see refused); an error from reading the content (ErrMalformed,
// errTooBig) or from the queue leaves the maildrop file alone.
func (p *Pickup) runStages(ctx context.Context, cfg *Config, env *queue.Envelope, uid uint32, body io.Reader) (io.Reader, error) {
	sp := cleanup.NewSpool(filepath.Join(cfg.QueueDir, "tmp"))
	if _, err := io.Copy(sp, body); err != nil {
		sp.Close()
		return nil, err
	}
	m, err := cleanup.NewMessage(env, cleanup.Origin{Local: true, UID: int(uid), Service: "pickup"}, sp)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	id, v, err := cleanup.Run(ctx, p.q, m, cfg.Stages)
	if err != nil {
		return nil, err
	}
	word := v.Word()
	switch v.Action {
	case cleanup.Hold:
		p.logStage(env, word+"-hold", word+" triggers HOLD action")
	case cleanup.Discard:
		p.logStage(env, word+"-discard", word+" triggers DISCARD action")
	case cleanup.Reject:
		return nil, p.refused(ctx, m, v, id)
	}
	return nil, nil
}

// refused handles a local submission a stage rejected. Postfix's
// cleanup bounces such mail to its sender; here it is queued on hold
// instead, and the reason logged: the submitter cannot be told at once,
// and nothing is lost (postsuper -H releases it, postsuper -d removes it).
func (p *Pickup) refused(ctx context.Context, m *cleanup.Message, v cleanup.Verdict, _ string) error {
	lines := v.ReplyLines()
	word := v.Word()
	m.Env.Hold = true
	if _, err := p.q.Enqueue(ctx, m.Env, m.Content()); err != nil {
		return err
	}
	p.logStage(m.Env, word+"-reject", lines[0][4:]+"; kept on hold (postsuper -H to release, -d to remove)")
	return nil
}

// logStage logs a stage's verdict as Postfix's cleanup does for a
// milter, for local mail ("from local").
func (p *Pickup) logStage(env *queue.Envelope, action, text string) {
	line := fmt.Sprintf("%s: %s: END-OF-MESSAGE from local: %s; from=<%s>", env.ID, action, text, env.Sender)
	if len(env.Recipients) > 0 {
		line += fmt.Sprintf(" to=<%s>", env.Recipients[0].Addr)
	}
	p.logger("cleanup").Info(line)
}
