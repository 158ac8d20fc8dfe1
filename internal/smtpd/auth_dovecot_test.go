package smtpd

import (
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dovecottest"
	"github.com/postern-mta/postern/internal/sasl/dovecot"
)

// AUTH abandoned with "*" over SMTP, against the real Dovecot: each is
// cancelled there, so its auth process (shared with IMAP) does not grow
// with them (the security review measured ~6 KB per abandoned AUTH:
// 20,000 grew it from 4.6 to 128 MB), and it still authenticates.
func TestAuthAbandonedDovecot(t *testing.T) {
	d := dovecottest.Start(t, "alice@v.test:{PLAIN}secret\n")
	var log syncBuffer
	srv := authServer(t, "smtpd_tls_auth_only = no\nsmtpd_error_sleep_time = 0\n"+
		"smtpd_soft_error_limit = 10000\nsmtpd_hard_error_limit = 10000\n", &log)
	backend := dovecot.New("unix", d.Socket, "smtp")
	defer backend.Close()
	srv.SASL = backend
	c, br, _ := serveOne(t, srv)
	c.SetDeadline(time.Now().Add(120 * time.Second))
	talk(t, c, br, "EHLO x")
	if got := talk(t, c, br, "AUTH LOGIN"); got != "334 VXNlcm5hbWU6" {
		t.Fatalf("AUTH LOGIN: %q", got)
	}
	talk(t, c, br, "*")
	rss0 := d.AuthRSS()
	const n = 1500
	for i := 0; i < n; i++ {
		if got := talk(t, c, br, "AUTH LOGIN"); !strings.HasPrefix(got, "334 ") {
			t.Fatalf("%d: AUTH LOGIN: %q", i, got)
		}
		if got := talk(t, c, br, "*"); !strings.HasPrefix(got, "501 5.7.0 ") {
			t.Fatalf("%d: *: %q", i, got)
		}
	}
	rss1 := d.AuthRSS()
	t.Logf("Dovecot auth process RSS: %d KiB before, %d KiB after %d abandoned AUTH LOGIN", rss0, rss1, n)
	if rss0 > 0 && rss1-rss0 > 3072 { // without CANCEL: ~9 MB more
		t.Errorf("Dovecot's auth process grew by %d KiB", rss1-rss0)
	}
	if got := talk(t, c, br, "AUTH PLAIN AGFsaWNlQHYudGVzdABzZWNyZXQ="); !strings.HasPrefix(got, "235 ") {
		t.Fatalf("AUTH afterwards: %q", got)
	}
}
