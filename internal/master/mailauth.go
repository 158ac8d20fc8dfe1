package master

import (
	"context"
	"strings"
	"sync"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/dnscache"
	"github.com/postern-mta/postern/internal/mailauth"
	"github.com/postern-mta/postern/internal/resolver"
)

// authDNS is the DNS cache of the mail authentication checks and of
// reject_spf_fail: one for the process, so that the RCPT-time SPF check
// and the header's share answers, and answers outlive a reload.
var authDNS = sync.OnceValue(func() *dnscache.Cache { return dnscache.New(resolver.New()) })

// newChecks returns smtpd's mail authentication stage (SPF, DKIM, DMARC,
// Authentication-Results), nil when smtpd_authentication_checks is
// empty.
func newChecks(_ context.Context, cfg *config.Config) (cleanup.Stage, error) {
	checks, err := cfg.List("smtpd_authentication_checks")
	if err != nil || len(checks) == 0 {
		return nil, err
	}
	mc := mailauth.Config{Resolver: authDNS()}
	for _, c := range checks {
		switch strings.ToLower(c) {
		case "spf":
			mc.SPF = true
		case "dkim":
			mc.DKIM = true
		case "dmarc":
			mc.DMARC = true
		}
	}
	if mc.AuthservID, err = cfg.Get("myhostname"); err != nil {
		return nil, err
	}
	if mc.Enforce, err = cfg.Bool("smtpd_dmarc_enforce"); err != nil {
		return nil, err
	}
	if mc.QuarantineAction, err = cfg.Get("smtpd_dmarc_quarantine_action"); err != nil {
		return nil, err
	}
	c, err := mailauth.New(mc)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// newForgeryFilter returns the first content stage of local submissions
// when the checks are on: forged Authentication-Results fields with our
// authserv-id removed, as smtpd's checks stage removes them from all
// SMTP mail; nil when smtpd_authentication_checks is empty (we write no
// results then).
func newForgeryFilter(cfg *config.Config) (cleanup.Stage, error) {
	checks, err := cfg.List("smtpd_authentication_checks")
	if err != nil || len(checks) == 0 {
		return nil, err
	}
	host, err := cfg.Get("myhostname")
	if err != nil {
		return nil, err
	}
	return mailauth.ForgeryFilter(host), nil
}
