package smtpd

import "context"

// authState is what a successful AUTH established.
type authState struct {
	method string // the SASL mechanism: PLAIN, LOGIN
	user   string // sasl_username
}

// cmdAuth answers AUTH (RFC 4954).
func (ss *session) cmdAuth(_ context.Context, _ string) {
	ss.fail("500 5.5.2 Error: command not recognized")
}

// ehloAuth returns the EHLO keywords of SMTP AUTH (AUTH, and AUTH= for
// broken_sasl_auth_clients), if offered.
func (ss *session) ehloAuth() []string { return nil }
