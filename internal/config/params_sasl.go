package config

import (
	"fmt"
	"strings"
)

// saslParams choose and reach the SMTP AUTH backend (internal/sasl).
var saslParams = []Param{
	// Postfix's default: a Dovecot socket path relative to
	// queue_directory, or inet:host:port (internal/sasl/dovecot).
	{Name: "smtpd_sasl_path", Default: "smtpd", Kind: String},
	{Name: "smtpd_sasl_service", Default: "smtp", Kind: String, Check: checkSASLService},
	// Postfix's default is cyrus, which postern refuses while
	// smtpd_sasl_auth_enable = yes (internal/check).
	{Name: "smtpd_sasl_type", Default: "cyrus", Kind: String, Check: checkSASLType},
}

// SASLTypes are the smtpd_sasl_type values postern knows; cyrus only
// as Postfix's default, refused when AUTH is on.
var SASLTypes = []string{"dovecot", "passwd-file", "cyrus"}

func checkSASLType(_ *Config, v string) error {
	for _, t := range SASLTypes {
		if v == t {
			return nil
		}
	}
	return fmt.Errorf("unknown SASL type %q: postern supports dovecot and passwd-file", v)
}

func checkSASLService(_ *Config, v string) error {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("%q: want one word (Dovecot's service=, e.g. smtp)", v)
	}
	return nil
}
