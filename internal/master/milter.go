package master

import (
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
)

// newNonSMTPMilters returns the non_smtpd_milters stage of local
// submissions, nil when there are none. SKELETON (issue 15, part 3).
func newNonSMTPMilters(cfg *config.Config) (cleanup.Stage, error) { return nil, nil }
