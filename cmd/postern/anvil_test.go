package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"regexp"
	"testing"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// cmd sends one command and expects its reply.
func (s *smtpConn) cmd(line, prefix string) {
	s.t.Helper()
	if _, err := s.c.Write([]byte(line + "\r\n")); err != nil {
		s.t.Fatalf("%s: %v", line, err)
	}
	s.expect(prefix)
}

// smtpd_client_connection_rate_limit through the daemon: the third
// connection from 127.0.0.2 within the minute gets Postfix's 421 and
// warning, though the first two ended.
func TestConnectionRateLimitE2E(t *testing.T) {
	in := newInstance(t, "mynetworks = 127.0.0.1/32\nsmtpd_client_connection_rate_limit = 2")
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	for i := 0; i < 2; i++ {
		c := dialSMTPFrom(t, "127.0.0.2", addr)
		c.expect("220 ")
		c.cmd("QUIT", "221 ")
	}
	c := dialSMTPFrom(t, "127.0.0.2", addr)
	c.expect("421 4.7.0 mx.example.test Error: too many connections from 127.0.0.2")
	waitLog(t, in, "warning: Connection rate limit exceeded: 3 from unknown[127.0.0.2] for service "+fmt.Sprint(in.port))
}

// smtpd_client_message_rate_limit through the daemon.
func TestMessageRateLimitE2E(t *testing.T) {
	in := newInstance(t, "mynetworks = 127.0.0.1/32\nsmtpd_client_message_rate_limit = 1")
	in.start(t)
	c := dialSMTPFrom(t, "127.0.0.2", fmt.Sprintf("127.0.0.1:%d", in.port))
	c.expect("220 ")
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<a@client.example>", "250 ")
	c.cmd("RSET", "250 ")
	c.cmd("MAIL FROM:<a@client.example>", "450 4.7.1 Error: too much mail from 127.0.0.2")
	waitLog(t, in, "warning: Message delivery request rate limit exceeded: 2 from unknown[127.0.0.2] for service "+fmt.Sprint(in.port))
}

// smtpd_client_recipient_rate_limit through the daemon.
func TestRecipientRateLimitE2E(t *testing.T) {
	in := newInstance(t, "mynetworks = 127.0.0.1/32\nsmtpd_client_recipient_rate_limit = 1")
	in.start(t)
	c := dialSMTPFrom(t, "127.0.0.2", fmt.Sprintf("127.0.0.1:%d", in.port))
	c.expect("220 ")
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<a@client.example>", "250 ")
	c.cmd("RCPT TO:<postmaster@mx.example.test>", "")
	c.cmd("RCPT TO:<postmaster@mx.example.test>", "450 4.7.1 Error: too many recipients from 127.0.0.2")
	waitLog(t, in, "warning: Recipient address rate limit exceeded: 2 from unknown[127.0.0.2] for service "+fmt.Sprint(in.port))
}

// starttls runs STARTTLS and the client handshake on c.
func (s *smtpConn) starttls() {
	s.t.Helper()
	s.cmd("STARTTLS", "220 ")
	tc := tls.Client(s.c, &tls.Config{InsecureSkipVerify: true, ServerName: "mx.example.test"})
	if err := tc.Handshake(); err != nil {
		s.t.Fatalf("handshake: %v", err)
	}
	s.c, s.br = tc, bufio.NewReader(tc)
}

// smtpd_client_new_tls_session_rate_limit through the daemon: the
// second new TLS session gets 421 over TLS, a later STARTTLS 454.
func TestNewTLSSessionRateLimitE2E(t *testing.T) {
	in := newInstance(t, "mynetworks = 127.0.0.1/32\nsmtpd_tls_security_level = may\nsmtpd_client_new_tls_session_rate_limit = 1\n"+smtptest.TLSConf(t, t.TempDir()))
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	c := dialSMTPFrom(t, "127.0.0.2", addr)
	c.expect("220 ")
	c.cmd("EHLO client.example", "250 ")
	c.starttls()
	c.cmd("EHLO client.example", "250 ")
	c = dialSMTPFrom(t, "127.0.0.2", addr)
	c.expect("220 ")
	c.cmd("EHLO client.example", "250 ")
	c.starttls()
	c.expect("421 4.7.0 mx.example.test Error: too many new TLS sessions from unknown[127.0.0.2]")
	waitLog(t, in, "warning: New TLS session rate limit exceeded: 2 from unknown[127.0.0.2] for service "+fmt.Sprint(in.port))
	c = dialSMTPFrom(t, "127.0.0.2", addr)
	c.expect("220 ")
	c.cmd("EHLO client.example", "250 ")
	c.cmd("STARTTLS", "454 4.7.0 Error: too many new TLS sessions from unknown[127.0.0.2]")
	waitLog(t, in, "warning: Refusing STARTTLS request from unknown[127.0.0.2] for service "+fmt.Sprint(in.port))
}

// anvil_status_update_time: after activity the daemon logs Postfix's
// anvil statistics lines under postern/anvil at that interval.
func TestAnvilStatisticsE2E(t *testing.T) {
	in := newInstance(t, "mynetworks = 127.0.0.1/32\nanvil_status_update_time = 1s\nsmtpd_client_message_rate_limit = 10")
	in.start(t)
	c := dialSMTPFrom(t, "127.0.0.2", fmt.Sprintf("127.0.0.1:%d", in.port))
	c.expect("220 ")
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<a@client.example>", "250 ")
	c.cmd("RSET", "250 ")
	c.cmd("MAIL FROM:<a@client.example>", "250 ")
	ident := fmt.Sprintf(`\(%d:127\.0\.0\.2\) at \w{3} [ \d]\d \d\d:\d\d:\d\d`, in.port)
	// The second MAIL's peak may come a report after the others.
	waitLog(t, in, fmt.Sprintf("statistics: max message rate 2/60s for (%d:127.0.0.2) at ", in.port))
	log := in.maillog(t)
	for _, re := range []string{
		`postern/anvil\[\d+\]: statistics: max connection rate 1/60s for ` + ident,
		`postern/anvil\[\d+\]: statistics: max connection count 1 for ` + ident,
		`postern/anvil\[\d+\]: statistics: max message rate 2/60s for ` + ident,
		`postern/anvil\[\d+\]: statistics: max cache size 1 at \w{3} [ \d]\d \d\d:\d\d:\d\d`,
	} {
		if !regexp.MustCompile(re).MatchString(log) {
			t.Errorf("maillog lacks %s:\n%s", re, log)
		}
	}
}

// smtpd_client_auth_rate_limit through the daemon, in the window it now
// shares with the other rates: the second AUTH of a client within the
// minute, in a new session, gets Postfix's 450.
func TestAuthRateLimitE2E(t *testing.T) {
	in := newInstance(t, "mynetworks = 127.0.0.1/32\nsmtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\n"+
		"smtpd_sasl_path = users\nsmtpd_tls_auth_only = no\nsmtpd_client_auth_rate_limit = 1")
	if _, e, code := runPasswdBin(t, "s3cret-pw\n", "-c", in.dir, "alice@example.test"); code != 0 {
		t.Fatalf("postern passwd: exit %d %s", code, e)
	}
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	const auth = "AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzM2NyZXQtcHc=" // \0alice@example.test\0s3cret-pw
	c := dialSMTPFrom(t, "127.0.0.2", addr)
	c.expect("220 ")
	c.cmd("EHLO client.example", "250 ")
	c.cmd(auth, "235 ")
	c.cmd("QUIT", "221 ")
	c = dialSMTPFrom(t, "127.0.0.2", addr)
	c.expect("220 ")
	c.cmd("EHLO client.example", "250 ")
	c.cmd(auth, "450 4.7.1 Error: too many AUTH commands from 127.0.0.2")
	waitLog(t, in, "warning: AUTH command rate limit exceeded: 2 from unknown[127.0.0.2] for service "+fmt.Sprint(in.port))
}
