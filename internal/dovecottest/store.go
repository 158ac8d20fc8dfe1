package dovecottest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// User is a mailbox of a mail store: its login, password and, when not
// zero, a storage quota in kilobytes.
type User struct {
	Name, Password string
	QuotaKB        int
}

// StartStore runs a private Dovecot mail store (see
// /work/shared/test-components.md): Maildirs under Dir/vmail/DOMAIN/USER
// owned by nobody, LMTP on the unix socket Socket, IMAP (plaintext
// LOGIN allowed) on Inet, 127.0.0.1. A user's quota applies with
// quota_full_tempfail, so a delivery over it gets "452 4.2.2 … Quota
// exceeded" after DATA. It skips the test without dovecot-lmtpd and
// dovecot-imapd (scripts/install-test-deps installs them) or root.
func StartStore(t testing.TB, users ...User) *Dovecot {
	t.Helper()
	bin := binary(t)
	for _, p := range []string{"/usr/lib/dovecot/lmtp", "/usr/lib/dovecot/imap"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is not installed (scripts/install-test-deps installs dovecot-lmtpd and dovecot-imapd)", p)
		}
	}
	dir := tempDir(t)
	var lines strings.Builder
	for _, u := range users {
		extra := ""
		if u.QuotaKB > 0 {
			extra = fmt.Sprintf("userdb_quota_rule=*:storage=%dK", u.QuotaKB)
		}
		fmt.Fprintf(&lines, "%s:{PLAIN}%s::::::%s\n", u.Name, u.Password, extra)
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"sock", "vmail"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "vmail"), 65534, 65534); err != nil { // nobody:nogroup
		t.Fatal(err)
	}
	port := freePort(t)
	d := &Dovecot{Dir: dir, Socket: filepath.Join(dir, "sock", "lmtp"), Inet: fmt.Sprintf("127.0.0.1:%d", port)}
	conf := fmt.Sprintf(`protocols = lmtp imap
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_failure_delay = 0
mail_location = maildir:%[1]s/vmail/%%d/%%n
mail_plugins = quota
quota_full_tempfail = yes
passdb {
  driver = passwd-file
  args = %[1]s/users
}
userdb {
  driver = passwd-file
  args = %[1]s/users
  default_fields = uid=nobody gid=nogroup home=%[1]s/vmail/%%d/%%n
}
plugin {
  quota = maildir:User quota
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service lmtp {
  unix_listener %[1]s/sock/lmtp {
    mode = 0666
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
`, dir, port)
	if err := os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d.bin, d.conf = bin, filepath.Join(dir, "dovecot.conf")
	t.Cleanup(d.Stop)
	d.Run(t)
	return d
}

// imapFetch logs in over IMAP with Python's imaplib and prints every
// message of INBOX, each followed by a separator line.
const imapFetch = `
import imaplib, sys
host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
m = imaplib.IMAP4(host, port)
m.login(user, password)
m.select("INBOX", readonly=True)
typ, data = m.search(None, "ALL")
for num in data[0].split():
    typ, msg = m.fetch(num, "(RFC822)")
    sys.stdout.write(msg[0][1].decode("utf-8", "replace"))
    sys.stdout.write("\n` + Separator + `\n")
m.logout()
`

// Separator ends each message IMAPMessages returns in its output.
const Separator = "=== end of message ==="

// IMAPMessages reads user's INBOX over IMAP with /usr/bin/python3's
// imaplib (a client that is not ours), returning the messages.
func (d *Dovecot) IMAPMessages(t testing.TB, user, password string) []string {
	t.Helper()
	host, port, _ := strings.Cut(d.Inet, ":")
	out, err := exec.Command("/usr/bin/python3", "-c", imapFetch, host, port, user, password).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib as %s: %v\n%s\n%s", user, err, out, d.Log())
	}
	var msgs []string
	for _, m := range strings.Split(string(out), "\n"+Separator+"\n") {
		if m != "" {
			msgs = append(msgs, m)
		}
	}
	return msgs
}
