package smtpd_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
	"github.com/postern-mta/postern/internal/tlsconf"
)

// tlsClient is one test session that can switch to TLS.
type tlsClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialTLSTest(t *testing.T, addr string) *tlsClient {
	t.Helper()
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &tlsClient{t: t, c: c, br: bufio.NewReader(c)}
}

// dialWrapped connects with TLS from the first byte (wrapper mode).
func dialWrapped(t *testing.T, addr string, cfg *tls.Config) *tlsClient {
	t.Helper()
	c := dialTLSTest(t, addr)
	tc := tls.Client(c.c, cfg)
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.c, c.br = tc, bufio.NewReader(tc)
	return c
}

func (c *tlsClient) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// reply reads one whole reply, its lines joined by "\n".
func (c *tlsClient) reply() string {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			c.t.Fatalf("reading a reply after %q: %v %q", lines, err, l)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// cmd sends a command and checks that the reply starts with want.
func (c *tlsClient) cmd(line, want string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	r := c.reply()
	if !strings.HasPrefix(r, want) {
		c.t.Fatalf("%s: got %q, want %q…", line, r, want)
	}
	return r
}

// startTLS sends STARTTLS and runs the client handshake.
func (c *tlsClient) startTLS(cfg *tls.Config) {
	c.t.Helper()
	c.cmd("STARTTLS", "220 2.0.0 Ready to start TLS")
	tc := tls.Client(c.c, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.c, c.br = tc, bufio.NewReader(tc)
}

func clientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, ServerName: "mx.example.test"}
}

// waitLog waits until the server's log holds want (an event, not a delay).
func waitLog(t *testing.T, s *smtptest.Server, want string) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); !strings.Contains(s.Logged(), want); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("log lacks %q:\n%s", want, s.Logged())
		}
	}
}

func sendMessage(c *tlsClient) {
	c.t.Helper()
	c.cmd("MAIL FROM:<a@client.example>", "250 ")
	c.cmd("RCPT TO:<b@mx.example.test>", "250 ")
	c.cmd("DATA", "354 ")
	c.cmd("Subject: t\r\n\r\nhello\r\n.", "250 2.0.0 Ok: queued as ")
}

// STARTTLS at level may: offered in EHLO before TLS only, Postfix's
// replies to a second STARTTLS and to an argument, a message delivered
// over TLS with "with ESMTPS", and the handshake logged at loglevel 1.
func TestStartTLSDialog(t *testing.T) {
	s := smtptest.NewServer(t, "smtpd_tls_security_level = may\nsmtpd_tls_loglevel = 1\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	c := dialTLSTest(t, s.Addr)
	c.reply()
	if r := c.cmd("EHLO client.example", "250-"); !strings.Contains(r, "\n250-STARTTLS\n") {
		t.Fatalf("STARTTLS not offered:\n%s", r)
	}
	c.cmd("STARTTLS now", "501 5.5.4 Syntax: STARTTLS")
	c.startTLS(clientTLS())
	if r := c.cmd("EHLO client.example", "250-"); strings.Contains(r, "STARTTLS") {
		t.Fatalf("STARTTLS offered again:\n%s", r)
	}
	c.cmd("STARTTLS", "554 5.5.1 Error: TLS already active")
	sendMessage(c)
	c.cmd("QUIT", "221 ")
	msgs := s.Queue.Messages()
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Body), "\tby mx.example.test (postern) with ESMTPS id ") {
		t.Fatalf("queued %d: %v", len(msgs), msgs)
	}
	if strings.Contains(string(msgs[0].Body), "(using ") {
		t.Errorf("TLS comment without smtpd_tls_received_header:\n%s", msgs[0].Body)
	}
	waitLog(t, s, "disconnect from")
	re := regexp.MustCompile(`(?m)^Anonymous TLS connection established from unknown\[127\.0\.0\.1\]: TLSv1\.3 with cipher TLS_AES_(128_GCM_SHA256 \(128/128|256_GCM_SHA384 \(256/256) bits\) key-exchange \S+ server-signature ECDSA \(prime256v1\) server-digest SHA256$`)
	if !re.MatchString(s.Logged()) {
		t.Errorf("no handshake line:\n%s", s.Logged())
	}
}

// Postfix's replies when STARTTLS is not offered: level none (502), or
// no certificate (454; postern does not offer STARTTLS then).
func TestStartTLSNotAvailable(t *testing.T) {
	for _, tc := range []struct{ cf, reply string }{
		{"smtpd_tls_security_level = none\n" + smtptest.TLSConf(t, t.TempDir()), "502 5.5.1 Error: command not implemented"},
		{"", "502 5.5.1 Error: command not implemented"},
		{"smtpd_tls_security_level = may\n", "454 4.7.0 TLS not available due to local problem"},
		{"smtpd_use_tls = yes\n", "454 4.7.0 TLS not available due to local problem"},
	} {
		s := smtptest.NewServer(t, tc.cf, nil)
		c := dialTLSTest(t, s.Addr)
		c.reply()
		if r := c.cmd("EHLO client.example", "250-"); strings.Contains(r, "STARTTLS") {
			t.Errorf("%q: STARTTLS offered:\n%s", tc.cf, r)
		}
		c.cmd("STARTTLS", tc.reply)
		c.cmd("MAIL FROM:<a@client.example>", "250 ")
	}
}

// The plaintext injection (CVE-2011-0411): commands sent behind
// STARTTLS in the same packet are never answered, neither before the
// handshake nor after it, and never executed (the disconnect counters).
func TestStartTLSInjection(t *testing.T) {
	s := smtptest.NewServer(t, "smtpd_tls_security_level = may\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	c := dialTLSTest(t, s.Addr)
	c.reply()
	c.cmd("EHLO client.example", "250-")
	c.send("STARTTLS\r\nRSET\r\nMAIL FROM:<evil@client.example>\r\n")
	if r := c.reply(); r != "220 2.0.0 Ready to start TLS" {
		t.Fatalf("STARTTLS: %q", r)
	}
	tc := tls.Client(c.c, clientTLS()) // a plaintext reply here would break the handshake
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c.c, c.br = tc, bufio.NewReader(tc)
	c.cmd("EHLO client.example", "250-mx.example.test\n")    // not RSET's 250 2.0.0 Ok
	c.cmd("MAIL FROM:<good@client.example>", "250 2.1.0 Ok") // no nested MAIL
	c.cmd("QUIT", "221 ")
	waitLog(t, s, "disconnect from")
	if !strings.Contains(s.Logged(), "disconnect from unknown[127.0.0.1] ehlo=2 starttls=1 mail=1 quit=1 commands=5\n") {
		t.Errorf("the injected commands ran:\n%s", s.Logged())
	}
}

// At level encrypt every command but HELO, EHLO, STARTTLS, NOOP and
// QUIT waits for TLS (Postfix's SMTPD_CMD_FLAG_PRE_TLS), with 530; the
// legacy smtpd_enforce_tls means the same.
func TestEncryptNeedsSTARTTLS(t *testing.T) {
	for _, cf := range []string{"smtpd_tls_security_level = encrypt\n", "smtpd_enforce_tls = yes\n"} {
		s := smtptest.NewServer(t, cf+smtptest.TLSConf(t, t.TempDir()), nil)
		c := dialTLSTest(t, s.Addr)
		c.reply()
		c.cmd("HELO client.example", "250 ")
		c.cmd("EHLO client.example", "250-")
		for _, l := range []string{"MAIL FROM:<a@client.example>", "RCPT TO:<b@mx.example.test>", "DATA", "RSET", "VRFY b", "BDAT 1 LAST", "AUTH PLAIN"} {
			c.cmd(l, "530 5.7.0 Must issue a STARTTLS command first")
		}
		c.cmd("NOOP", "250 ")
		c.startTLS(clientTLS())
		c.cmd("EHLO client.example", "250-")
		sendMessage(c)
		c.cmd("QUIT", "221 ")
		// Counted as failed, as Postfix 3.7.11 counts them (measured).
		waitLog(t, s, "disconnect from unknown[127.0.0.1] helo=1 ehlo=2 starttls=1 auth=0/1 mail=1/2 rcpt=1/2 data=1/2 bdat=0/1 rset=0/1 noop=1 vrfy=0/1 quit=1 commands=9/16\n")
	}
}

// After STARTTLS the session starts over: no HELO/EHLO (MAIL needs a
// new one with smtpd_helo_required), no transaction.
func TestStartTLSResetsSession(t *testing.T) {
	s := smtptest.NewServer(t, "smtpd_tls_security_level = may\nsmtpd_helo_required = yes\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	c := dialTLSTest(t, s.Addr)
	c.reply()
	c.cmd("EHLO client.example", "250-")
	c.cmd("MAIL FROM:<a@client.example>", "250 ")
	c.startTLS(clientTLS())
	c.cmd("MAIL FROM:<a@client.example>", "503 5.5.1 Error: send HELO/EHLO first")
	c.cmd("HELO client.example", "250 ")
	c.cmd("MAIL FROM:<a@client.example>", "250 2.1.0 Ok") // the plaintext transaction is gone
	c.cmd("RCPT TO:<b@mx.example.test>", "250 ")
	c.cmd("DATA", "354 ")
	c.cmd(".", "250 ")
	if m := s.Queue.Messages(); len(m) != 1 || !strings.Contains(string(m[0].Body), " with SMTP id ") {
		t.Errorf("after HELO over TLS the protocol stays SMTP (RFC 3848 is for ESMTP): %v", m)
	}

	// Without smtpd_helo_required MAIL may come first: the transaction
	// begun in plaintext is gone (no "nested MAIL command").
	s = smtptest.NewServer(t, "smtpd_tls_security_level = may\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	c = dialTLSTest(t, s.Addr)
	c.reply()
	c.cmd("EHLO client.example", "250-")
	c.cmd("MAIL FROM:<a@client.example>", "250 ")
	c.cmd("RCPT TO:<b@mx.example.test>", "250 ")
	c.startTLS(clientTLS())
	c.cmd("DATA", "503 5.5.1 Error: need RCPT command")
	c.cmd("MAIL FROM:<a@client.example>", "250 2.1.0 Ok")
}

// A failed handshake is logged with its reason and ends that session
// only: the server goes on serving.
func TestStartTLSHandshakeFails(t *testing.T) {
	s := smtptest.NewServer(t, "smtpd_tls_security_level = may\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	c := dialTLSTest(t, s.Addr)
	c.reply()
	c.cmd("EHLO client.example", "250-")
	c.cmd("STARTTLS", "220 ")
	c.send("this is not a TLS handshake\r\n")
	if l, err := c.br.ReadString('\n'); err == nil {
		t.Fatalf("the session goes on: %q", l)
	}
	waitLog(t, s, "lost connection after STARTTLS from unknown[127.0.0.1]\n")
	waitLog(t, s, "disconnect from unknown[127.0.0.1] ehlo=1 starttls=0/1 commands=1/2\n")
	if !strings.Contains(s.Logged(), "SSL_accept error from unknown[127.0.0.1]: tls: first record does not look like a TLS handshake\n") {
		t.Errorf("no SSL_accept line:\n%s", s.Logged())
	}
	c2 := dialTLSTest(t, s.Addr)
	if r := c2.reply(); !strings.HasPrefix(r, "220 ") {
		t.Fatalf("next session: %q", r)
	}
	c2.cmd("EHLO client.example", "250-")
	c2.startTLS(clientTLS())
}

// Wrapper mode (port 465): TLS first, then the greeting; STARTTLS is not
// offered, and mail needs no STARTTLS.
func TestWrapperMode(t *testing.T) {
	s := smtptest.NewServer(t, "smtpd_tls_wrappermode = yes\nsmtpd_tls_received_header = yes\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	c := dialWrapped(t, s.Addr, clientTLS())
	if r := c.reply(); !strings.HasPrefix(r, "220 mx.example.test ESMTP") {
		t.Fatalf("greeting %q", r)
	}
	if r := c.cmd("EHLO client.example", "250-"); strings.Contains(r, "STARTTLS") {
		t.Fatalf("STARTTLS offered in wrapper mode:\n%s", r)
	}
	c.cmd("STARTTLS", "554 5.5.1 Error: TLS already active")
	sendMessage(c)
	body := string(s.Queue.Messages()[0].Body)
	re := regexp.MustCompile(`^Received: from client\.example \(unknown \[127\.0\.0\.1\]\)\r\n\t\(using TLSv1\.3 with cipher TLS_AES_\S+ \(\d+/\d+ bits\)\r\n\t key-exchange \S+ server-signature ECDSA \(prime256v1\) server-digest SHA256\)\r\n\t\(No client certificate requested\)\r\n\tby mx\.example\.test \(postern\) with ESMTPS id `)
	if !re.MatchString(body) {
		t.Errorf("Received: header:\n%s", body)
	}
	// A plaintext client gets nothing it could read as SMTP.
	p := dialTLSTest(t, s.Addr)
	p.send("EHLO client.example\r\n")
	if l, _ := p.br.ReadString('\n'); strings.HasPrefix(l, "220") || strings.HasPrefix(l, "250") {
		t.Errorf("plaintext answered: %q", l)
	}
}

// smtpd_tls_req_ccert at encrypt: a client without a trusted
// certificate gets Postfix's 421 to its next command and the session
// ends; smtpd_tls_received_header names a certificate presented.
func TestRequireClientCert(t *testing.T) {
	s := smtptest.NewServer(t, "smtpd_tls_security_level = encrypt\nsmtpd_tls_req_ccert = yes\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	c := dialTLSTest(t, s.Addr)
	c.reply()
	c.cmd("EHLO client.example", "250-")
	c.startTLS(clientTLS())
	c.cmd("EHLO client.example", "421 4.7.1 mx.example.test Error: No client certificate presented")
	waitLog(t, s, "NOQUEUE: abort: TLS from unknown[127.0.0.1]: No client certificate presented\n")

	withCert := clientTLS()
	withCert.Certificates = []tls.Certificate{smtptest.NewCert(t, "client.example")}
	c = dialTLSTest(t, s.Addr)
	c.reply()
	c.cmd("EHLO client.example", "250-")
	c.startTLS(withCert)
	c.cmd("EHLO client.example", "421 4.7.1 mx.example.test Error: Client certificate not trusted")
}

// A client certificate listed in relay_clientcerts (by fingerprint)
// may relay through permit_tls_clientcerts; its Received: comment names
// it; without it, relaying is refused.
func TestPermitTLSClientCerts(t *testing.T) {
	cert := smtptest.NewCert(t, "client.example")
	fp, err := tlsconf.CertFingerprint(cert.Leaf, "sha256")
	if err != nil {
		t.Fatal(err)
	}
	tables := tableSet{"test:certs": {fp: "client.example"}}
	s := smtptest.NewServer(t, "smtpd_tls_security_level = may\nsmtpd_tls_ask_ccert = yes\nsmtpd_tls_received_header = yes\nsmtpd_tls_loglevel = 2\n"+
		"relay_clientcerts = test:certs\nsmtpd_relay_restrictions = permit_tls_clientcerts, reject_unauth_destination\n"+
		smtptest.TLSConf(t, t.TempDir()), tables.open)
	withCert := clientTLS()
	withCert.Certificates = []tls.Certificate{cert}
	c := dialTLSTest(t, s.Addr)
	c.reply()
	c.cmd("EHLO client.example", "250-")
	c.startTLS(withCert)
	c.cmd("EHLO client.example", "250-")
	c.cmd("MAIL FROM:<a@client.example>", "250 ")
	c.cmd("RCPT TO:<b@elsewhere.example>", "250 2.1.5 Ok")
	c.cmd("DATA", "354 ")
	c.cmd(".", "250 ")
	if b := string(s.Queue.Messages()[0].Body); !strings.Contains(b, " server-digest SHA256\r\n\t client-signature ECDSA (prime256v1) client-digest SHA256)\r\n\t(Client CN \"client.example\", Issuer \"client.example\" (not verified))\r\n") {
		t.Errorf("Received: header:\n%s", b)
	}
	pfp, _ := tlsconf.PublicKeyFingerprint(cert.Leaf, "sha256")
	for _, want := range []string{"unknown[127.0.0.1]: subject_CN=client.example, issuer=client.example, fingerprint=" + fp + ", pkey_fingerprint=" + pfp + "\n",
		"Untrusted TLS connection established from unknown[127.0.0.1]: TLSv1.3 with cipher ",
		" server-signature ECDSA (prime256v1) server-digest SHA256 client-signature ECDSA (prime256v1) client-digest SHA256\n"} {
		if !strings.Contains(s.Logged(), want) {
			t.Errorf("log lacks %q:\n%s", want, s.Logged())
		}
	}

	other := clientTLS()
	other.Certificates = []tls.Certificate{smtptest.NewCert(t, "client.example")}
	for _, cfg := range []*tls.Config{other, clientTLS()} {
		c = dialTLSTest(t, s.Addr)
		c.reply()
		c.cmd("EHLO client.example", "250-")
		c.startTLS(cfg)
		c.cmd("EHLO client.example", "250-")
		c.cmd("MAIL FROM:<a@client.example>", "250 ")
		c.cmd("RCPT TO:<b@elsewhere.example>", "554 5.7.1 <b@elsewhere.example>: Relay access denied")
	}
}

// mapTable is an in-memory lookup table for restriction tests.
type mapTable map[string]string

func (m mapTable) Lookup(k string) (string, bool, error) { v, ok := m[k]; return v, ok, nil }
func (m mapTable) Name() string                          { return "test:map" }

type tableSet map[string]mapTable

func (ts tableSet) open(spec string) (policy.Table, error) {
	if t, ok := ts[spec]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("no table %s", spec)
}

// sendmail -bs (stand-alone) has no TLS, as Postfix's: neither offered
// nor required, whatever the security level.
func TestStandAloneWithoutTLS(t *testing.T) {
	s := smtptest.NewServer(t, "smtpd_tls_security_level = encrypt\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	srv := *s.SMTP
	srv.StandAlone = true
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() { srv.ServeConn(context.Background(), b); close(done) }()
	t.Cleanup(func() { a.Close(); <-done })
	a.SetDeadline(time.Now().Add(20 * time.Second))
	c := &tlsClient{t: t, c: a, br: bufio.NewReader(a)}
	c.reply()
	if r := c.cmd("EHLO client.example", "250-"); strings.Contains(r, "STARTTLS") {
		t.Errorf("STARTTLS offered to sendmail -bs:\n%s", r)
	}
	c.cmd("MAIL FROM:<a@client.example>", "250 ")
	c.cmd("STARTTLS", "502 5.5.1 Error: command not implemented")
}

// holdConn passes the first write (the ClientHello) and keeps the later
// ones until flush, which sends them in one write: the client's last
// handshake flight and what follows arrive together.
type holdConn struct {
	net.Conn
	writes int
	held   []byte
}

func (h *holdConn) Write(p []byte) (int, error) {
	if h.writes++; h.writes == 1 {
		return h.Conn.Write(p)
	}
	h.held = append(h.held, p...)
	return len(p), nil
}

func (h *holdConn) flush() error { _, err := h.Conn.Write(h.held); return err }

// In wrapper mode the client must wait for the greeting after the
// handshake too: a command that came with its handshake's last flight
// (read by crypto/tls with the Finished message) is talk before the
// greeting, logged in plaintext and answered with 554.
func TestWrapperModePregreet(t *testing.T) {
	s := smtptest.NewServer(t, "smtpd_tls_wrappermode = yes\n"+smtptest.TLSConf(t, t.TempDir()), nil)
	c := dialTLSTest(t, s.Addr)
	h := &holdConn{Conn: c.c}
	tc := tls.Client(h, clientTLS())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tc, "EHLO client.example\r\n")
	if err := h.flush(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(tc)
	if l, err := br.ReadString('\n'); l != "554 5.5.0 Error: SMTP protocol synchronization\r\n" {
		t.Fatalf("got %q, %v", l, err)
	}
	waitLog(t, s, "improper command pipelining after CONNECT from unknown[127.0.0.1]: EHLO client.example\\r\\n\n")
}
