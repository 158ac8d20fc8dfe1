package sendlimit

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/postern-mta/postern/internal/cleanup"
)

// Stage is the content stage of local submissions (pickup): the
// message is counted by its submitter's uid (UIDKey), else its sender
// (SenderKey), else CatchAll; the message and its recipients are counted at once, all or
// nothing. Over a message or recipient limit it is queued on hold
// (postsuper -H releases it) with a warning. A table error refuses it
// for now (4xx: pickup keeps the maildrop file for the next scan).
// Mail from other origins passes uncounted: smtpd counts it.
type Stage struct {
	L   *Limiter
	log *slog.Logger
}

// SetLog sets the logger of the warnings (postern/cleanup).
func (s *Stage) SetLog(l *slog.Logger) { s.log = l }

// Apply implements cleanup.Stage.
func (s *Stage) Apply(_ context.Context, m *cleanup.Message) cleanup.Verdict {
	if !m.Origin.Local {
		return cleanup.Verdict{}
	}
	keys := []string{UIDKey(m.Origin.UID), SenderKey(m.Env.Sender)}
	v, err := s.L.Submission(len(m.Env.Recipients), keys...)
	kind := "message"
	if v.Rule.Rcpt {
		kind = "recipient"
	}
	switch {
	case err != nil:
		s.warn(fmt.Sprintf("%s: sender_rate_limit_maps: %v", m.Env.ID, err))
		return cleanup.Verdict{Action: cleanup.Reject, Reply: "451 4.3.0 Temporary lookup failure", Source: "sendlimit"}
	case v.Over:
		reason := fmt.Sprintf("%s rate limit exceeded for %s: %s", kind, v.Key, v.Rule)
		s.warn(fmt.Sprintf("%s: %s: held", m.Env.ID, reason))
		return cleanup.Verdict{Action: cleanup.Hold, Reason: reason, Source: "sendlimit"}
	}
	return cleanup.Verdict{}
}

func (s *Stage) warn(msg string) {
	if s.log != nil {
		s.log.Warn(msg)
	}
}
