package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The binary, as postern conf and as postconf, edits master.cf and fails
// as Postfix's postconf does on a file it cannot read.
func TestConfEditsMasterCf(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), nil, 0o644)
	path := filepath.Join(dir, "master.cf")
	os.WriteFile(path, []byte("# services\nsmtp      inet  n       -       y       -       -       smtpd\n#submission inet n - y - - smtpd\n"), 0o644)

	if _, e, code := runBin(t, "postconf", "-c", dir, "-Me", "submission/inet=submission inet n - y - - smtpd -o syslog_name=postfix/submission"); code != 0 {
		t.Fatalf("postconf -Me: exit %d: %s", code, e)
	}
	if _, e, code := runBin(t, "postern", "conf", "-c", dir, "-Pe", "submission/inet/smtpd_tls_security_level=encrypt"); code != 0 {
		t.Fatalf("postern conf -Pe: exit %d: %s", code, e)
	}
	got, _ := os.ReadFile(path)
	want := "# services\nsmtp      inet  n       -       y       -       -       smtpd\n#submission inet n - y - - smtpd\n" +
		"submission inet  n       -       y       -       -       smtpd\n" +
		"    -o syslog_name=postfix/submission\n    -o smtpd_tls_security_level=encrypt\n"
	if string(got) != want {
		t.Errorf("master.cf =\n%s\nwant\n%s", got, want)
	}
	if out, _, _ := runBin(t, "postern", "conf", "-c", dir, "-P", "submission/inet/smtpd_tls_security_level"); out != "submission/inet/smtpd_tls_security_level = encrypt\n" {
		t.Errorf("-P shows %q", out)
	}

	os.WriteFile(path, append(got, "bad unix - - maybe - - foo\n"...), 0o644)
	out, e, code := runBin(t, "postconf", "-c", dir, "-M")
	if code != 1 || out != "" || !strings.Contains(e, `: fatal: invalid chroot field "maybe" in "bad unix - - maybe - - foo"`) {
		t.Errorf("malformed master.cf: exit %d, stdout %q, stderr %q", code, out, e)
	}
}
