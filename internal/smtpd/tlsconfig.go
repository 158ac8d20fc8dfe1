package smtpd

import (
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// readTLS reads the session's TLS settings. The security level follows
// Postfix's smtpd: smtpd_tls_security_level when set, else the legacy
// smtpd_enforce_tls (encrypt) and smtpd_use_tls (may); wrapper mode
// always means encrypt.
func (c *Config) readTLS(cfg *config.Config) error {
	level, err := cfg.Get("smtpd_tls_security_level")
	if err != nil {
		return err
	}
	bools := map[string]*bool{"smtpd_tls_wrappermode": &c.TLSWrapper, "smtpd_tls_received_header": &c.TLSReceivedHeader,
		"smtpd_tls_ask_ccert": &c.AskCCert, "smtpd_tls_req_ccert": &c.ReqCCert}
	var use, enforce bool
	bools["smtpd_use_tls"], bools["smtpd_enforce_tls"] = &use, &enforce
	for name, dst := range bools {
		if *dst, err = cfg.Bool(name); err != nil {
			return err
		}
	}
	if level == "" {
		switch {
		case enforce:
			level = "encrypt"
		case use:
			level = "may"
		}
	}
	if level == "none" {
		level = ""
	}
	if c.TLSWrapper {
		level = "encrypt"
	}
	c.TLSLevel = level
	c.ReqCCert = c.ReqCCert && level == "encrypt" // Postfix: "Can't require client certs unless TLS is required"
	c.AskCCert = c.AskCCert || c.ReqCCert
	if c.StartTLSTimeout, err = cfg.Duration("smtpd_starttls_timeout"); err != nil {
		return err
	}
	n, err := cfg.Int("smtpd_tls_loglevel")
	if err != nil {
		return err
	}
	c.TLSLogLevel = int(n)
	d, err := cfg.Get("smtpd_tls_fingerprint_digest")
	c.FingerprintDigest = strings.ToLower(d)
	return err
}
