package check

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/diraccess"
	"github.com/postern-mta/postern/internal/sasl/dovecot"
)

// smtpSASL warns about the smarthost set-ups that fail or leak: Postfix's
// default noplaintext refuses PLAIN and LOGIN, the only mechanisms most
// providers offer (and postern's client implements), even over TLS; and
// allowing them without TLS sends the password in the clear.
func (c *checker) smtpSASL() {
	if on, err := c.cfg.Bool("smtp_sasl_auth_enable"); err != nil || !on {
		return
	}
	opts := func(name string) bool { // plaintext mechanisms allowed?
		list, _ := c.cfg.List(name)
		for _, o := range list {
			if strings.EqualFold(o, "noplaintext") {
				return false
			}
		}
		return true
	}
	level := c.value("smtp_tls_security_level")
	tlsRequired := level == "encrypt" || level == "verify" || level == "secure" || level == "dane-only" || level == "fingerprint"
	switch {
	case !opts("smtp_sasl_tls_security_options") && !opts("smtp_sasl_security_options"):
		c.warnf("smtp_sasl_auth_enable", "smtp_sasl_security_options (and smtp_sasl_tls_security_options) include noplaintext: PLAIN and LOGIN are refused, so authentication to the relay will fail; with smtp_tls_security_level = encrypt, set smtp_sasl_security_options = noanonymous")
	case opts("smtp_sasl_security_options") && !tlsRequired:
		c.warnf("smtp_sasl_auth_enable", "the relay password may be sent in plaintext: smtp_sasl_security_options allows PLAIN and LOGIN and smtp_tls_security_level = %q does not require TLS; set smtp_tls_security_level = encrypt", level)
	}
	if maps, _ := c.cfg.List("smtp_sasl_password_maps"); len(maps) == 0 {
		c.warnf("smtp_sasl_auth_enable", "smtp_sasl_password_maps is empty: there is no password to authenticate with")
	}
}

// NoCyrus says why smtpd_sasl_type = cyrus (Postfix's default) is
// refused while smtpd_sasl_auth_enable = yes.
const NoCyrus = "postern has no Cyrus SASL: with smtpd_sasl_auth_enable = yes, set smtpd_sasl_type = dovecot (and smtpd_sasl_path, e.g. private/auth or inet:127.0.0.1:12345) or passwd-file"

// SASLAuthEnabled reads smtpd_sasl_auth_enable (unset: no).
func SASLAuthEnabled(cfg *config.Config) (bool, error) {
	v, err := cfg.Get("smtpd_sasl_auth_enable")
	if err != nil || v == "" {
		return false, err
	}
	on, err := config.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("parameter smtpd_sasl_auth_enable: %w", err)
	}
	return on, nil
}

// smtpdSASL checks the AUTH backend when AUTH is on in main.cf or in a
// master.cf service (-o smtpd_sasl_auth_enable=yes, as Postfix's
// submission service has): Cyrus is refused; a Dovecot unix socket
// that does not exist is a warning (Dovecot may start later).
func (c *checker) smtpdSASL() {
	on, err := SASLAuthEnabled(c.cfg)
	if err != nil {
		return // reported with the parameter
	}
	if !on && c.master != nil {
		for _, s := range c.master.Services {
			if v, ok := s.Param("smtpd_sasl_auth_enable"); ok {
				if b, err := config.ParseBool(v); err == nil && b {
					on = true
				}
			}
		}
	}
	if !on {
		return
	}
	switch c.value("smtpd_sasl_type") {
	case "cyrus":
		c.errorf("smtpd_sasl_type", "%s", NoCyrus)
	case "dovecot":
		path := c.value("smtpd_sasl_path")
		network, address, err := dovecot.ParsePath(path, c.value("queue_directory"))
		if err != nil {
			c.errorf("smtpd_sasl_path", "%v", err)
			return
		}
		if network != "unix" {
			return
		}
		switch fi, err := os.Stat(address); {
		case errors.Is(err, fs.ErrNotExist):
			c.warnf("smtpd_sasl_path", "Dovecot's auth socket %s does not exist (yet): AUTH fails with a temporary error until Dovecot listens there (service auth { unix_listener ... })", address)
		case err != nil:
			c.warnf("smtpd_sasl_path", "Dovecot's auth socket %s: %v", address, errors.Unwrap(err))
		case fi.Mode()&fs.ModeSocket == 0:
			c.errorf("smtpd_sasl_path", "%s is not a socket (Dovecot's auth client socket is wanted)", address)
		default:
			if u, ok := c.mailOwner(); ok {
				if err := diraccess.Connect(address, u); err != nil {
					c.warnf("smtpd_sasl_path", "postern runs as mail_owner %s and cannot connect to Dovecot's auth socket: %v; in Dovecot, set unix_listener %s { mode = 0660, user = %s }", u.Name, err, address, u.Name)
				}
			}
		}
	}
}
