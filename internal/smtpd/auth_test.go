package smtpd_test

import (
	"path/filepath"
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
