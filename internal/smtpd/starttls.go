package smtpd

import "context"

// cmdStartTLS answers STARTTLS (RFC 3207).
func (ss *session) cmdStartTLS(_ context.Context, _ string) {
	ss.fail("500 5.5.2 Error: command not recognized")
}

// ehloTLS returns the EHLO keywords of TLS (STARTTLS), if offered.
func (ss *session) ehloTLS() []string { return nil }
