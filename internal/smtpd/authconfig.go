package smtpd

import (
	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/sasl"
)

// AuthConfig is SMTP AUTH's part of the session settings.
type AuthConfig struct {
	// Enable: smtpd_sasl_auth_enable (AUTH needs Server.SASL too).
	Enable bool
	// Options and TLSOptions: smtpd_sasl_security_options before TLS,
	// smtpd_sasl_tls_security_options after.
	Options, TLSOptions sasl.Options
	// TLSOnly: smtpd_tls_auth_only (postern's default: yes).
	TLSOnly bool
	// Header: smtpd_sasl_authenticated_header.
	Header bool
	// Realm: smtpd_sasl_local_domain, appended to a login name
	// without "@".
	Realm string
	// Mechs: smtpd_sasl_mechanism_filter.
	Mechs sasl.MechFilter
	// Broken: broken_sasl_auth_clients (the "AUTH=" EHLO line).
	Broken bool
	// ResponseLimit: smtpd_sasl_response_limit, bytes per response.
	ResponseLimit int
	// RateLimit: smtpd_client_auth_rate_limit AUTH commands per
	// anvil_rate_time_unit (AnvilConfig.Unit) and client (0: no limit).
	RateLimit int
}

func readAuthConfig(cfg *config.Config) (AuthConfig, error) {
	var a AuthConfig
	var err error
	getBool := func(name string, dst *bool) {
		if err == nil {
			*dst, err = cfg.Bool(name)
		}
	}
	getInt := func(name string, dst *int) {
		if err == nil {
			var n int64
			n, err = cfg.Int(name)
			*dst = int(n)
		}
	}
	getOpts := func(name string, dst *sasl.Options) {
		if err == nil {
			var l []string
			if l, err = cfg.List(name); err == nil {
				*dst, err = sasl.ParseOptions(l)
			}
		}
	}
	getBool("smtpd_sasl_auth_enable", &a.Enable)
	getOpts("smtpd_sasl_security_options", &a.Options)
	getOpts("smtpd_sasl_tls_security_options", &a.TLSOptions)
	getBool("smtpd_tls_auth_only", &a.TLSOnly)
	getBool("smtpd_sasl_authenticated_header", &a.Header)
	getBool("broken_sasl_auth_clients", &a.Broken)
	getInt("smtpd_sasl_response_limit", &a.ResponseLimit)
	getInt("smtpd_client_auth_rate_limit", &a.RateLimit)
	if err == nil {
		a.Realm, err = cfg.Get("smtpd_sasl_local_domain")
	}
	if err == nil {
		var l []string
		if l, err = cfg.List("smtpd_sasl_mechanism_filter"); err == nil {
			a.Mechs, err = sasl.ParseMechFilter(l)
		}
	}
	return a, err
}
