package smtpd

import "github.com/postern-mta/postern/internal/cleanup"

// milterStage is the end-of-message stage of the session's milters;
// nil when there are none. SKELETON (issue 15, part 3).
func (ss *session) milterStage() cleanup.Stage { return nil }
