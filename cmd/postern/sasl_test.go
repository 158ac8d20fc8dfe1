package main

import (
	"strings"
	"testing"
)

// AUTH on with Postfix's default smtpd_sasl_type: check and start both
// refuse it and say to use dovecot or passwd-file.
func TestCyrusRefused(t *testing.T) {
	const problem = "parameter smtpd_sasl_type: (default) postern has no Cyrus SASL: with smtpd_sasl_auth_enable = yes, set smtpd_sasl_type = dovecot"
	in := newInstance(t, "inet_interfaces = loopback-only\ninet_protocols = ipv4\nsmtpd_sasl_auth_enable = yes")
	out, _, code := in.run(t, "check")
	if code != 1 || !strings.Contains(out, problem) {
		t.Errorf("check: exit %d\n%s", code, out)
	}
	_, e, code := in.run(t, "start")
	if code != 1 || !strings.Contains(e, problem) {
		t.Errorf("start: exit %d %q", code, e)
	}
}
