package master

import (
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
)

// pickupStages are the content stages of local submissions:
// non_smtpd_milters, then DKIM signing (mail from sendmail is ours).
func pickupStages(cfg *config.Config) ([]cleanup.Stage, error) {
	var stages []cleanup.Stage
	m, err := newNonSMTPMilters(cfg)
	if err != nil {
		return nil, err
	}
	if m != nil {
		stages = append(stages, m)
	}
	s, err := newSigner(cfg)
	if err != nil {
		return nil, err
	}
	if s != nil {
		stages = append(stages, s)
	}
	return stages, nil
}
