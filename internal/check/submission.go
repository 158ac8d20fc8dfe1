package check

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/mastercf"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/smtpd"
)

// smtpdReads reports whether postern's SMTP server reads name: what
// smtpd.ConfigFrom (also under stress) and policy.New look up, their
// $name references included, plus every smtpd_* and tls_* parameter
// (TLS and AUTH: internal/tlsconf, internal/sasl), every milter_* one
// (smtpd_milters: config.Milters, MilterMacros) and the names a
// service's settings carry (syslog_name, service_name, stress).
func (c *checker) smtpdReads(name string) bool {
	if c.reads == nil {
		// sender_rate_limit_maps: each smtpd service counts with its own
		// (master.newSMTP builds its sendlimit.Limiter from its settings).
		c.reads = map[string]bool{"syslog_name": true, "service_name": true, "stress": true,
			"sender_rate_limit_maps": true}
		t := c.cfg.WithAll(nil)
		t.Reads = func(n string) { c.reads[n] = true }
		_, _ = smtpd.ConfigFrom(t)
		_, _ = smtpd.StressConfigFrom(t)
		noTables := func(spec string) (policy.Table, error) { return nil, fmt.Errorf("not opened by postern check") }
		_, _ = policy.New(resolveCtx(), t, noTables)
	}
	return c.reads[name] || strings.HasPrefix(name, "smtpd_") || strings.HasPrefix(name, "tls_") || strings.HasPrefix(name, "milter_")
}

// submissionParams are the parameters the two submission checks below
// read: a service whose -o options set one of them is checked on its
// own, under its master.cf line.
var submissionParams = []string{
	"smtpd_sasl_auth_enable", "smtpd_tls_auth_only", "smtpd_tls_security_level", "smtpd_use_tls",
	"smtpd_enforce_tls", "smtpd_tls_wrappermode", "smtpd_relay_restrictions",
	"smtpd_recipient_restrictions", "smtpd_restriction_classes", "mynetworks", "mynetworks_style",
}

// submission warns about SMTP AUTH offered where the password could
// travel in the clear, and about a submission service (port 587 or 465,
// or AUTH turned on by -o) that lets an unauthenticated client from
// outside mynetworks relay (an error for other public services). main.cf's settings are judged once (as the
// services without such -o options run them); each smtpd service whose
// -o options change one of submissionParams is judged on its own.
func (c *checker) submission() {
	c.authWithoutTLS(c.cfg, nil)
	if c.master == nil {
		return
	}
	for _, s := range c.master.Services {
		if s.Type != mastercf.Inet || s.Command != "smtpd" {
			continue
		}
		own := false
		for _, o := range s.Overrides {
			for _, p := range submissionParams {
				own = own || o.Name == p
			}
		}
		scfg := s.Settings(c.cfg)
		if own {
			c.authWithoutTLS(scfg, s)
			c.serviceRelay(scfg, s)
		} else if submissionLike(scfg, s) {
			c.serviceRelay(scfg, s)
		}
	}
}

// yesNo reads a yes/no parameter that may not be declared in this build:
// def when it is not defined or not a boolean.
func yesNo(cfg *config.Config, name string, def bool) bool {
	if _, ok := cfg.Raw(name); !ok {
		return def
	}
	v, err := cfg.Get(name)
	if err != nil {
		return def
	}
	b, err := config.ParseBool(v)
	if err != nil {
		return def
	}
	return b
}

// tlsLevel is smtpd_tls_security_level, or what the legacy
// smtpd_enforce_tls and smtpd_use_tls say when it is empty.
func tlsLevel(cfg *config.Config) string {
	if v, err := cfg.Get("smtpd_tls_security_level"); err == nil && v != "" {
		return v
	}
	switch {
	case yesNo(cfg, "smtpd_enforce_tls", false):
		return "encrypt"
	case yesNo(cfg, "smtpd_use_tls", false):
		return "may"
	}
	return "none"
}

// submissionLike: a service for mail programs that authenticate.
func submissionLike(cfg *config.Config, s *mastercf.Service) bool {
	_, port, _ := s.HostPort()
	return port == 587 || port == 465 || yesNo(cfg, "smtpd_sasl_auth_enable", false)
}

// authWithoutTLS warns when AUTH is on and may run before TLS: with
// smtpd_tls_auth_only = no and TLS optional or off, a client may send
// its password in the clear (postern's smtpd_tls_auth_only defaults to
// yes). s is nil for main.cf's own settings.
func (c *checker) authWithoutTLS(cfg *config.Config, s *mastercf.Service) {
	if !yesNo(cfg, "smtpd_sasl_auth_enable", false) || yesNo(cfg, "smtpd_tls_wrappermode", false) {
		return
	}
	level := tlsLevel(cfg)
	tlsOnly := yesNo(cfg, "smtpd_tls_auth_only", true)
	var msg string
	switch {
	case tlsOnly && level == "none":
		msg = "smtpd_sasl_auth_enable = yes, but AUTH is never offered: smtpd_tls_auth_only = yes and smtpd_tls_security_level = none (no STARTTLS); set smtpd_tls_security_level = may or encrypt with a certificate"
	case !tlsOnly && (level == "none" || level == "may"):
		msg = fmt.Sprintf("SMTP AUTH is offered without TLS: smtpd_sasl_auth_enable = yes, smtpd_tls_auth_only = no and smtpd_tls_security_level = %s, so clients may send their passwords in the clear; set smtpd_tls_auth_only = yes (or smtpd_tls_security_level = encrypt)", level)
	default:
		return
	}
	if s == nil {
		c.warnf("smtpd_sasl_auth_enable", "%s", msg)
		return
	}
	c.masterDiag(config.Warning, s, msg)
}

// serviceRelay applies the relay rules to a service's own restriction
// lists: smtpd refuses to run without a relay-protecting restriction
// (an error, as for main.cf), and a submission service whose lists let
// a stranger relay — walked as exposure's strangerVerdict walks them:
// permit_sasl_authenticated and permit_mynetworks do not apply to an
// unauthenticated client from outside mynetworks; the first permit,
// reject or *_unauth_destination decides; a reject reached in the client,
// HELO or sender list stops it too — is warned about. Such lists on
// another service that listens beyond loopback are an open relay: an
// error, as exposure reports for main.cf's.
func (c *checker) serviceRelay(cfg *config.Config, s *mastercf.Service) {
	relay, errR := cfg.List("smtpd_relay_restrictions")
	rcpt, errC := cfg.List("smtpd_recipient_restrictions")
	if errR != nil || errC != nil {
		return // reported with the -o option
	}
	if !hasWorkingInstance(relay) && !hasWorkingInstance(rcpt) {
		c.masterDiag(config.Error, s, "neither smtpd_relay_restrictions nor smtpd_recipient_restrictions contains reject_unauth_destination, defer_unauth_destination, reject, defer or defer_if_permit, so the SMTP server refuses to run this service: end smtpd_recipient_restrictions with permit_sasl_authenticated, reject")
		return
	}
	submission := submissionLike(cfg, s)
	if !submission && !c.public(s) {
		return
	}
	var nets []netip.Prefix
	for _, f := range config.Fields(valueIn(cfg, "mynetworks")) {
		lit := strings.NewReplacer("[", "", "]", "").Replace(f)
		if p, err := netip.ParsePrefix(lit); err == nil && !strings.HasPrefix(f, "!") {
			nets = append(nets, p.Masked())
		}
	}
	open := c.strangerVerdict(relay, nets) == permits && c.strangerVerdict(rcpt, nets) == permits
	for _, name := range []string{"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions"} {
		// A reject reached in these lists stops a stranger too
		// (smtpd_delay_reject: they are evaluated at RCPT).
		if list, err := cfg.List(name); err == nil && c.strangerVerdict(list, nets) == rejects {
			open = false
		}
	}
	if open && !submission {
		c.masterDiag(config.Error, s, "OPEN RELAY: the service listens beyond loopback, and its -o restrictions let any client relay to any domain: put reject_unauth_destination after the permit_* restrictions")
	} else if open {
		c.masterDiag(config.Warning, s, "a submission service that lets unauthenticated clients relay: its smtpd_relay_restrictions and smtpd_recipient_restrictions permit a client outside mynetworks that has not logged in to send to any domain; use -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject")
	}
}

// public reports whether a service listens beyond loopback: on its own
// address, or on inet_interfaces'.
func (c *checker) public(s *mastercf.Service) bool {
	host, _, err := s.HostPort()
	if err != nil {
		return false
	}
	if host != "" {
		a, err := netip.ParseAddr(strings.Trim(host, "[]"))
		return err != nil || !a.IsLoopback()
	}
	addrs, err := c.cfg.InetAddrs(resolveCtx())
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if !a.Addr().IsLoopback() {
			return true
		}
	}
	return false
}

func valueIn(cfg *config.Config, name string) string {
	v, _ := cfg.Get(name)
	return v
}
