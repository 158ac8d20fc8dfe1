package smtpd_test

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// smtpd_client_connection_rate_limit: the third connection of a client
// within anvil_rate_time_unit is refused as Postfix refuses it, though
// the first two ended; an exempt client ($mynetworks) is not counted.
func TestConnectionRateLimit(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.1/32\nsmtpd_client_connection_rate_limit = 2\n", nil)
	for i := 0; i < 2; i++ {
		cl, greeting := dialFrom(t, s, "127.0.0.2")
		if !strings.HasPrefix(greeting, "220 ") {
			t.Fatalf("session %d: %q", i+1, greeting)
		}
		cl.cmd("QUIT", "221 ")
		cl.waitClosed()
	}
	cl, greeting := dialFrom(t, s, "127.0.0.2")
	if want := "421 4.7.0 mx.example.test Error: too many connections from 127.0.0.2\r\n"; greeting != want {
		t.Fatalf("third session: %q, want %q", greeting, want)
	}
	cl.waitClosed()
	waitLog(t, s, "Connection rate limit exceeded: 3 from unknown[127.0.0.2] for service smtp")
	for i := 0; i < 4; i++ {
		if _, greeting := dialFrom(t, s, "127.0.0.1"); !strings.HasPrefix(greeting, "220 ") {
			t.Fatalf("exempt session %d: %q", i+1, greeting)
		}
	}
}

// smtpd_client_message_rate_limit: the third MAIL of a client within
// the time unit, across sessions, gets Postfix's 450; a MAIL with bad
// syntax is not counted.
func TestMessageRateLimit(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.1/32\nsmtpd_client_message_rate_limit = 2\n", nil)
	cl, _ := dialFrom(t, s, "127.0.0.2")
	cl.cmd("EHLO client.example", "250 ")
	cl.cmd("MAIL TO:<a@client.example>", "501 ")
	cl.cmd("MAIL FROM:<a@client.example>", "250 ")
	cl.cmd("RSET", "250 ")
	cl.cmd("QUIT", "221 ")
	cl, _ = dialFrom(t, s, "127.0.0.2")
	cl.cmd("EHLO client.example", "250 ")
	cl.cmd("MAIL FROM:<a@client.example>", "250 ")
	cl.cmd("RSET", "250 ")
	cl.cmd("MAIL FROM:<a@client.example>", "450 4.7.1 Error: too much mail from 127.0.0.2\r")
	waitLog(t, s, "Message delivery request rate limit exceeded: 3 from unknown[127.0.0.2] for service smtp")
	exempt, _ := dialFrom(t, s, "127.0.0.1")
	exempt.cmd("EHLO client.example", "250 ")
	for i := 0; i < 4; i++ {
		exempt.cmd("MAIL FROM:<a@client.example>", "250 ")
		exempt.cmd("RSET", "250 ")
	}
}

// smtpd_client_recipient_rate_limit: the third RCPT gets Postfix's 450.
func TestRecipientRateLimit(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 127.0.0.1/32\nsmtpd_client_recipient_rate_limit = 2\n", nil)
	cl, _ := dialFrom(t, s, "127.0.0.2")
	cl.cmd("EHLO client.example", "250 ")
	cl.cmd("MAIL FROM:<a@client.example>", "250 ")
	cl.cmd("RCPT TO:<b@mx.example.test>", "250 ")
	cl.cmd("RCPT TO:<c@mx.example.test>", "250 ")
	cl.cmd("RCPT TO:<d@mx.example.test>", "450 4.7.1 Error: too many recipients from 127.0.0.2\r")
	waitLog(t, s, "Recipient address rate limit exceeded: 3 from unknown[127.0.0.2] for service smtp")
	exempt, _ := dialFrom(t, s, "127.0.0.1")
	exempt.cmd("EHLO client.example", "250 ")
	exempt.cmd("MAIL FROM:<a@client.example>", "250 ")
	for i := 0; i < 4; i++ {
		exempt.cmd("RCPT TO:<b@mx.example.test>", "250 ")
	}
}

// smtpd_client_new_tls_session_rate_limit = 1: the second new TLS
// session is answered 421 over TLS and ended; after it, STARTTLS is
// refused with 454 before any handshake, and the session goes on in
// plaintext; an exempt client is not counted.
func TestNewTLSSessionRateLimit(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 192.0.2.0/24\nsmtpd_tls_security_level = may\nsmtpd_client_new_tls_session_rate_limit = 1\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	c := dialTLSTest(t, s.Addr)
	c.reply()
	c.cmd("EHLO client.example", "250")
	c.startTLS(clientTLS())
	c.cmd("EHLO client.example", "250")
	c.cmd("QUIT", "221 ")

	c = dialTLSTest(t, s.Addr)
	c.reply()
	c.cmd("EHLO client.example", "250")
	c.startTLS(clientTLS())
	if r := c.reply(); r != "421 4.7.0 mx.example.test Error: too many new TLS sessions from unknown[127.0.0.1]" {
		t.Fatalf("second TLS session: %q", r)
	}
	waitLog(t, s, "New TLS session rate limit exceeded: 2 from unknown[127.0.0.1] for service smtp")

	c = dialTLSTest(t, s.Addr)
	c.reply()
	c.cmd("EHLO client.example", "250")
	c.cmd("STARTTLS", "454 4.7.0 Error: too many new TLS sessions from unknown[127.0.0.1]")
	c.cmd("NOOP", "250 ")
	waitLog(t, s, "Refusing STARTTLS request from unknown[127.0.0.1] for service smtp")

	s2 := smtptest.NewServer(t, "mynetworks = 127.0.0.1/32\nsmtpd_tls_security_level = may\nsmtpd_client_new_tls_session_rate_limit = 1\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	for i := 0; i < 3; i++ {
		c = dialTLSTest(t, s2.Addr)
		c.reply()
		c.cmd("EHLO client.example", "250")
		c.startTLS(clientTLS())
		c.cmd("EHLO client.example", "250")
	}
}

// A resumed TLS session is not a new one (Postfix counts only full
// handshakes).
func TestNewTLSSessionResumed(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 192.0.2.0/24\nsmtpd_tls_security_level = may\ntls_session_ticket_cipher = aes-256-cbc\nsmtpd_client_new_tls_session_rate_limit = 1\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	cfg := clientTLS()
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	for i := 0; i < 3; i++ {
		c := dialTLSTest(t, s.Addr)
		c.reply()
		c.cmd("EHLO client.example", "250")
		c.startTLS(cfg)
		c.cmd("EHLO client.example", "250")
		if resumed := c.c.(*tls.Conn).ConnectionState().DidResume; resumed != (i > 0) {
			t.Fatalf("session %d: resumed %v", i+1, resumed)
		}
		c.cmd("QUIT", "221 ")
	}
}

// In wrapper mode (port 465) the second new TLS session gets the 421
// over TLS in place of the greeting, and a client already over the
// limit is disconnected before any handshake, as Postfix does.
func TestNewTLSSessionWrapperMode(t *testing.T) {
	s := smtptest.NewServer(t, "mynetworks = 192.0.2.0/24\nsmtpd_tls_wrappermode = yes\nsmtpd_client_new_tls_session_rate_limit = 1\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	c := dialWrapped(t, s.Addr, clientTLS())
	if r := c.reply(); !strings.HasPrefix(r, "220 ") {
		t.Fatalf("first session: %q", r)
	}
	c = dialWrapped(t, s.Addr, clientTLS())
	if r := c.reply(); r != "421 4.7.0 mx.example.test Error: too many new TLS sessions from unknown[127.0.0.1]" {
		t.Fatalf("second session: %q", r)
	}
	p := dialTLSTest(t, s.Addr)
	if err := tls.Client(p.c, clientTLS()).Handshake(); err == nil {
		t.Fatal("third session: handshake completed")
	}
	waitLog(t, s, "Refusing TLS service request from unknown[127.0.0.1] for service smtp")
}
