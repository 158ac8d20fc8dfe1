package master

import (
	"log/slog"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/milter"
	"github.com/postern-mta/postern/internal/smtpd"
)

// milterMacroValues are milter_macro_daemon_name and milter_macro_v.
func milterMacroValues(cfg *config.Config) (daemon, v string, err error) {
	if daemon, err = cfg.Get("milter_macro_daemon_name"); err != nil {
		return "", "", err
	}
	v, err = cfg.Get("milter_macro_v")
	return daemon, v, err
}

// newSMTPMilters returns a service's smtpd_milters, nil when there are
// none.
func newSMTPMilters(cfg *config.Config) (*smtpd.Milters, error) { return smtpd.MiltersFrom(cfg) }

// newNonSMTPMilters returns the non_smtpd_milters stage of local
// submissions, nil when there are none.
func newNonSMTPMilters(cfg *config.Config) (cleanup.Stage, error) {
	specs, err := cfg.Milters("non_smtpd_milters")
	if err != nil || len(specs) == 0 {
		return nil, err
	}
	s := &milter.LocalStage{Specs: specs}
	if s.Macros, err = cfg.MilterMacros(); err != nil {
		return nil, err
	}
	if s.Hostname, err = cfg.Get("myhostname"); err != nil {
		return nil, err
	}
	if s.DaemonName, s.V, err = milterMacroValues(cfg); err != nil {
		return nil, err
	}
	if s.Limits.BodySize, err = cfg.Int("message_size_limit"); err != nil {
		return nil, err
	}
	rw, err := address.RewriteOptions(cfg.Get, cfg.Bool)
	if err != nil {
		return nil, err
	}
	s.Canonical = func(a address.Address) address.Address { return address.Canonical(a, rw) }
	return s, nil
}

// setStageLog gives the stages that log (non_smtpd_milters) the
// daemon's logger, as Postfix's cleanup logs.
func setStageLog(stages []cleanup.Stage, log *slog.Logger) {
	for _, s := range stages {
		if l, ok := s.(interface{ SetLog(*slog.Logger) }); ok {
			l.SetLog(log.With("program", "postern/cleanup"))
		}
	}
}
