package smtpd_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// TestAuthDialogs plays testdata/auth/*.txt against a server whose AUTH
// backend is smtpd.FakeSASL (alice, password "secret").
func TestAuthDialogs(t *testing.T) {
	files, _ := filepath.Glob("testdata/auth/*.txt")
	if len(files) == 0 {
		t.Fatal("no dialogs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			d, err := smtptest.ReadDialog(f)
			if err != nil {
				t.Fatal(err)
			}
			d.Run(t, smtptest.NewServerWith(t, d.Cf, smtptest.Options{SASL: smtpd.NewFakeSASL()}))
		})
	}
}

const authCf = "smtpd_sasl_auth_enable = yes\nsmtpd_tls_auth_only = no\n"

// Past smtpd_soft_error_limit a failed AUTH is answered after
// smtpd_error_sleep_time, as every reply then is in Postfix.
func TestAuthFailureSlowed(t *testing.T) {
	s := smtptest.NewServerWith(t, authCf+"smtpd_soft_error_limit = 1\nsmtpd_error_sleep_time = 1s\n",
		smtptest.Options{SASL: smtpd.NewFakeSASL()})
	cl := dial(t, s)
	cl.cmd("AUTH PLAIN AGFsaWNlAHdyb25n", "535 5.7.8 ")
	start := time.Now()
	cl.cmd("AUTH PLAIN AGFsaWNlAHdyb25n", "535 5.7.8 ")
	if d := time.Since(start); d < time.Second {
		t.Errorf("the second failure was answered after %v, want at least 1s", d)
	}
}

// FuzzAuthSession feeds arbitrary input to a session with AUTH on: it
// must never panic or hang, every reply line must be well formed, and
// the only login is alice with her password.
func FuzzAuthSession(f *testing.F) {
	for _, seed := range []string{
		"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<a@b.test> AUTH=<>\r\n",
		"EHLO x\r\nAUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\nAUTH PLAIN\r\n*\r\n",
		"AUTH PLAIN\r\n!!!\r\nAUTH LOGIN =\r\n\r\nAUTH FOO BAR BAZ\r\nAUTH PLAIN =\r\n",
		"AUTH PLAIN\r\n" + strings.Repeat("QUFB", 5000) + "\r\nAUTH\r\n", "AUTH PLAIN AHRlbXBmYWlsAHg=\r\n",
	} {
		f.Add(seed)
	}
	s := smtptest.NewServerWith(f, authCf+"smtpd_timeout = 2s\nsmtpd_error_sleep_time = 0\n", smtptest.Options{SASL: smtpd.NewFakeSASL()})
	f.Fuzz(func(t *testing.T, input string) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() { s.SMTP.ServeConn(context.Background(), server); close(done) }()
		go func() { io.WriteString(client, input); io.WriteString(client, "\r\nQUIT\r\n") }()
		client.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(client)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				break
			}
			if !replyLine.MatchString(l) {
				t.Fatalf("malformed reply %q", l)
			}
		}
		client.Close()
		<-done
	})
}

// postern's default smtpd_tls_auth_only = yes over a real STARTTLS: no
// AUTH in plaintext, AUTH after the handshake, then relay from outside
// mynetworks with "with ESMTPSA" and the login in the Received: header
// and the client= line.
func TestAuthAfterStartTLS(t *testing.T) {
	s := smtptest.NewServerWith(t, "smtpd_tls_security_level = may\nsmtpd_sasl_auth_enable = yes\nmynetworks = 127.0.0.2/32\n"+
		"smtpd_sasl_authenticated_header = yes\n"+smtptest.TLSConf(t, t.TempDir()), smtptest.Options{SASL: smtpd.NewFakeSASL()})
	c := dialTLSTest(t, s.Addr)
	c.reply()
	if r := c.cmd("EHLO laptop.example", "250-"); strings.Contains(r, "AUTH") {
		t.Fatalf("AUTH offered in plaintext:\n%s", r)
	}
	c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "503 5.5.1 Error: authentication not enabled")
	c.startTLS(clientTLS())
	if r := c.cmd("EHLO laptop.example", "250-"); !strings.Contains(r, "\n250-AUTH PLAIN LOGIN\n") {
		t.Fatalf("AUTH not offered over TLS:\n%s", r)
	}
	c.cmd("MAIL FROM:<alice@example.test>", "250 ")
	c.cmd("RCPT TO:<friend@remote.example>", "454 4.7.1 <friend@remote.example>: Relay access denied")
	c.cmd("RSET", "250 ")
	c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "235 2.7.0 Authentication successful")
	c.cmd("MAIL FROM:<alice@example.test>", "250 ")
	c.cmd("RCPT TO:<friend@remote.example>", "250 ")
	c.cmd("DATA", "354 ")
	c.cmd("Subject: t\r\n\r\nhello\r\n.", "250 2.0.0 Ok: queued as ")
	c.cmd("QUIT", "221 ")
	msgs := s.Queue.Messages()
	if len(msgs) != 1 || !strings.Contains(string(msgs[0].Body), "\t(Authenticated sender: alice)\r\n\tby mx.example.test (postern) with ESMTPSA id ") {
		t.Fatalf("queued %d: %v", len(msgs), msgs)
	}
	waitLog(t, s, ": client=unknown[127.0.0.1], sasl_method=PLAIN, sasl_username=alice\n")
}
