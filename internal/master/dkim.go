package master

import (
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
)

// newSigner returns the DKIM signing stage of cfg, nil when no signing
// is configured. SKELETON (issue 15, part 1).
func newSigner(cfg *config.Config) (cleanup.Stage, error) { return nil, nil }
