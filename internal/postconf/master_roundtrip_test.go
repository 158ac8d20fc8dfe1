package postconf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// roundTripEdits is a session of master.cf edits as an administrator
// types them, applied in turn to testdata/mcfedit/base.cf.
var roundTripEdits = [][]string{
	{"-Me", "submission/inet=submission inet n - y - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt"},
	{"-Pe", "submission/inet/smtpd_sasl_auth_enable=yes"},
	{"-Fe", "pickup/unix/wakeup=30"},
	{"-M#", "127.0.0.1:10025/inet"},
	{"-Me", "smtps/inet=smtps inet n - y - - smtpd -o syslog_name=postfix/smtps -o smtpd_tls_wrappermode=yes"},
	{"-PX", "relay/unix/smtp_helo_name"},
	{"-Fe", "relay/unix/command=smtp -o { smtp_helo_name = relay host } -o syslog_name=postfix/relay"},
	{"-MX", "maildrop/unix"},
	{"-Pe", "*/inet/smtpd_helo_required=yes"},
	{"-Me", "submission/inet=submission inet n - n - - smtpd -o syslog_name=postfix/submission"},
}

// TestMasterEditRoundTrip applies the session three ways: all with
// Postfix's postconf, all with postern conf, and alternating (Postfix
// first); after every step the three master.cf files are identical.
func TestMasterEditRoundTrip(t *testing.T) {
	postconf := postconfPath(t)
	src := mcfDir(t, "base.cf")
	dirs := [3]string{copyDir(t, src), copyDir(t, src), copyDir(t, src)}
	for step, args := range roundTripEdits {
		for i, dir := range dirs {
			usePostfix := i == 0 || i == 2 && step%2 == 0
			if usePostfix {
				cmd := exec.Command(postconf, append([]string{"-c", dir}, args...)...)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("step %d: postconf %q: %v\n%s", step, args, err, out)
				}
				continue
			}
			var o, e bytes.Buffer
			if code := Run(append([]string{"-c", dir}, args...), Env{Stdout: &o, Stderr: &e, Getenv: func(string) string { return "" }}); code != 0 {
				t.Fatalf("step %d: postern conf %q: exit %d\n%s", step, args, code, e.String())
			}
		}
		want := readOr(filepath.Join(dirs[0], "master.cf"))
		for i, name := range []string{"postern", "alternating"} {
			if got := readOr(filepath.Join(dirs[i+1], "master.cf")); got != want {
				t.Fatalf("step %d %q: %s master.cf differs from Postfix's\n--- postconf\n%s--- %s\n%s", step, args, name, want, name, got)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dirs[1], "master.cf")); err != nil {
		t.Fatal(err)
	}
}
