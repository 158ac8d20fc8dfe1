package check

import (
	"strings"
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
