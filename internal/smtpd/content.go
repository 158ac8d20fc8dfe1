package smtpd

import "github.com/postern-mta/postern/internal/cleanup"

// stages are the content stages of the session's current message, in
// Postfix's order: the checks (Authentication-Results), the session's
// milters (smtpd_milters), DKIM signing. None: the content streams to
// the queue and nothing is held.
func (ss *session) stages() []cleanup.Stage {
	var st []cleanup.Stage
	for _, s := range []cleanup.Stage{ss.srv.Checks, ss.milterStage(), ss.srv.Sign} {
		if s != nil {
			st = append(st, s)
		}
	}
	return st
}

// Referenced until the message path uses it (issue 15, in progress).
var _ = (*session).stages
