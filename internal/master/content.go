package master

import (
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/sendlimit"
)

// pickupStages are the content stages of local submissions: cleanup's
// header address rewriting (internal/rewrite), forged
// Authentication-Results removed (mail from sendmail is not checked,
// but must not carry our results), non_smtpd_milters, the senders'
// limits (sender_rate_limit_maps: over one, held), then DKIM signing
// (mail from sendmail is ours).
func pickupStages(cfg *config.Config, pol *policy.Policy) ([]cleanup.Stage, error) {
	var stages []cleanup.Stage
	hr, err := headerRules(cfg, pol)
	if err != nil {
		return nil, err
	}
	if st := hr.For(cleanup.Origin{Local: true}); st != nil {
		stages = append(stages, st)
	}
	f, err := newForgeryFilter(cfg)
	if err != nil {
		return nil, err
	}
	if f != nil {
		stages = append(stages, f)
	}
	m, err := newNonSMTPMilters(cfg)
	if err != nil {
		return nil, err
	}
	if m != nil {
		stages = append(stages, m)
	}
	l, err := sendlimit.New(cfg, openSendLimitTable, sendCounter)
	if err != nil {
		return nil, err
	}
	if l != nil {
		stages = append(stages, &sendlimit.Stage{L: l})
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
