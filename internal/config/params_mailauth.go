package config

import (
	"fmt"
	"slices"
	"strings"
)

// mailauthParams are the checks on received mail (internal/mailauth:
// SPF, DKIM verification, DMARC, Authentication-Results). Postern-only
// names (Postfix does this through milters; see the README).
var mailauthParams = []Param{
	// Which checks smtpd runs on mail from untrusted clients; each
	// result goes in one Authentication-Results header. Empty: no
	// checks and no header.
	{Name: "smtpd_authentication_checks", Default: "spf, dkim, dmarc", Kind: List, Check: checkAuthenticationChecks},
	// Apply DMARC policies: p=reject refused at end of data (550 5.7.1),
	// p=quarantine per smtpd_dmarc_quarantine_action; a DNS failure
	// defers (451 4.7.1). No: the header only.
	{Name: "smtpd_dmarc_enforce", Default: "no", Kind: Bool, Check: checkDMARCEnforce},
	// hold: the hold queue; tag: delivered with "X-Spam-Flag: YES".
	{Name: "smtpd_dmarc_quarantine_action", Default: "hold", Kind: String, Check: checkQuarantineAction},
}

// AuthenticationChecks are the check names smtpd_authentication_checks
// accepts.
var AuthenticationChecks = []string{"spf", "dkim", "dmarc"}

func checkAuthenticationChecks(_ *Config, v string) error {
	names := Fields(v)
	for _, n := range names {
		if !slices.Contains(AuthenticationChecks, strings.ToLower(n)) {
			return fmt.Errorf("unknown check %q (known: %s)", n, strings.Join(AuthenticationChecks, ", "))
		}
	}
	has := func(n string) bool {
		return slices.ContainsFunc(names, func(s string) bool { return strings.EqualFold(s, n) })
	}
	if has("dmarc") && (!has("spf") || !has("dkim")) {
		return fmt.Errorf("dmarc needs the spf and dkim checks")
	}
	return nil
}

func checkQuarantineAction(_ *Config, v string) error {
	switch v {
	case "hold", "tag":
		return nil
	}
	return fmt.Errorf("%q is not hold or tag", v)
}

// checkDMARCEnforce: enforcing without the dmarc check would look
// accepted and do nothing.
func checkDMARCEnforce(c *Config, v string) error {
	if !strings.EqualFold(v, "yes") {
		return nil
	}
	checks, err := c.List("smtpd_authentication_checks")
	if err != nil {
		return nil // reported for that parameter
	}
	if !slices.ContainsFunc(checks, func(s string) bool { return strings.EqualFold(s, "dmarc") }) {
		return fmt.Errorf("needs dmarc in smtpd_authentication_checks")
	}
	return nil
}
