package smtpd_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/postern-mta/postern/internal/dovecottest"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// postfixAuthDialogs are the AUTH dialogs whose every reply Postfix 3.7
// gives byte for byte with Dovecot behind it (a passwd-file with alice,
// password "secret"). Left out: 08 (Postfix dies when no mechanism is
// left), 09 (this Dovecot offers no ANONYMOUS), 14 (Postfix's Dovecot
// client ignores smtpd_sasl_local_domain) and 17 (the fake backend's
// outage).
var postfixAuthDialogs = []string{
	"01-relay-authenticated.txt", "02-failures.txt", "03-plain-challenge.txt", "04-login-initial.txt",
	"05-not-offered.txt", "06-helo-required.txt", "07-broken-clients.txt", "10-exceptions.txt",
	"11-response-limit.txt", "12-error-limit.txt", "13-rate-limit.txt", "15-sender-login.txt",
	"16-mechanism-filter.txt",
}

// TestAuthDialogsAgainstPostfix plays the dialogs above against a
// private Postfix whose smtpd authenticates with a private Dovecot, and
// checks that it gives the replies the dialogs expect of postern.
// postern's default smtpd_tls_auth_only = yes is set for Postfix too.
func TestAuthDialogsAgainstPostfix(t *testing.T) {
	for _, p := range []string{"/usr/sbin/postfix", "/usr/sbin/dovecot"} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed but CI must run this test (scripts/install-test-deps)", p)
			}
			t.Skipf("%s is not installed (scripts/install-test-deps)", p)
		}
	}
	if os.Getuid() != 0 {
		t.Skip("starting a private Postfix needs root")
	}
	sock := startDovecotAuth(t)
	norm := func(l string) string { return queueID.ReplaceAllString(l, "queued as ID") }
	for _, name := range postfixAuthDialogs {
		d, err := smtptest.ReadDialog(filepath.Join("testdata/auth", name))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: starting Postfix", name)
		addr := startPostfix(t, "smtpd_sasl_type = dovecot\nsmtpd_sasl_path = "+sock+"\nsmtpd_tls_auth_only = yes\n"+d.Cf)
		t.Run(name, func(t *testing.T) { d.Exchange(t, addr, norm) })
	}
}

// startDovecotAuth starts a private Dovecot that only authenticates
// (PLAIN and LOGIN, no failure delay) and returns its auth socket.
func startDovecotAuth(t *testing.T) string {
	t.Helper()
	return dovecottest.Start(t, "alice:{PLAIN}secret\n").Socket
}
