package smtpd_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
	dir := t.TempDir()
	// Postfix's smtpd runs as postfix and must reach the socket.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	for _, d := range []string{"run", "state", "sock"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "dovecot.conf")
	sock := filepath.Join(dir, "sock", "auth")
	text := fmt.Sprintf(`protocols = none
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
auth_mechanisms = plain login
auth_failure_delay = 0
disable_plaintext_auth = no
passdb {
  driver = passwd-file
  args = %[1]s/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
# no auth penalty (a growing delay after failures from an address)
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener %[2]s {
    mode = 0666
  }
}
`, dir, sock)
	for name, data := range map[string]string{conf: text, filepath.Join(dir, "users"): "alice:{PLAIN}secret\n"} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Output to a file, not a pipe: the daemon it leaves behind would
	// keep a pipe open and the start would never seem to end.
	out, err := os.Create(filepath.Join(dir, "start.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	start := exec.Command("/usr/sbin/dovecot", "-c", conf)
	start.Stdout, start.Stderr = out, out
	if err := start.Run(); err != nil {
		b, _ := os.ReadFile(out.Name())
		t.Fatalf("dovecot: %v\n%s", err, b)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Logf("dovecot.log:\n%s", b)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		exec.CommandContext(ctx, "/usr/sbin/dovecot", "-c", conf, "stop").Run()
		// This instance's master must not outlive the test.
		if b, err := os.ReadFile(filepath.Join(dir, "run", "master.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(cmd), conf) {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	})
	// Ready when the socket answers.
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := (&net.Dialer{Timeout: time.Second}).Dial("unix", sock); err == nil {
			c.Close()
			return sock
		}
		if time.Now().After(end) {
			t.Fatalf("Dovecot never listened on %s", sock)
		}
	}
}
