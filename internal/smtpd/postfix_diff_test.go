package smtpd_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// postfixDialogs are the dialogs whose every reply Postfix's own smtpd
// (the 3.7 reference, with the 3.9 settings below) gives byte for byte,
// queue IDs aside: the pipelining and stray <CR> rules, and the
// smuggling defence. 17-bare-lf-reject is left out on purpose: 3.7.11
// hangs up after its 550 for a bare <LF> in a command; postern follows
// the 3.9 description (550 carries on, 521 hangs up).
var postfixDialogs = []string{
	"05-pipelining.txt", "08-smuggling.txt", "09-bdat.txt", "15-unauth-pipelining.txt",
	"19-bare-lf-disconnect.txt", "34-pipelining-after-helo.txt", "35-pipelining-in-helo-session.txt",
	"36-pipelining-after-ehlo.txt", "37-pipelining-after-data.txt", "38-pipelining-after-noop.txt",
	"39-pipelining-after-vrfy.txt", "40-pipelining-quit.txt", "41-unauth-pipelining-remembered.txt",
	"42-stray-cr-replaced.txt", "43-smuggling-stray-cr-lf.txt", "44-pipelining-quit-helo.txt",
	"45-routed-local-recipient.txt", "46-postmaster-source-route.txt", "47-hopcount-limit.txt",
	"48-forbidden-command.txt", "49-forbidden-nonletter.txt", "50-forbidden-added.txt", "51-min-user.txt",
}

// postfixBase makes a private Postfix answer as postern's test server
// does: its names and banner, Postfix 3.9's defaults where 3.7 differs,
// no ETRN (postern has none) and no local recipient table.
const postfixBase = `compatibility_level = 3.6
inet_protocols = ipv4
myhostname = mx.example.test
mydomain = example.test
smtpd_banner = $myhostname ESMTP postern
local_recipient_maps =
alias_maps =
smtpd_discard_ehlo_keywords = etrn
smtpd_forbid_unauth_pipelining = yes
smtpd_forbid_bare_newline = normalize
`

var queueID = regexp.MustCompile(`queued as [0-9A-Za-z]+`)

// TestDialogsAgainstPostfix plays the dialogs above against Postfix's
// smtpd in a private instance (own configuration, spool and loopback
// port) and checks that
// it gives the replies the dialogs expect of postern. There is no queue
// manager, so nothing is delivered (cleanup waits a second for one to
// take its wake-up: the dialogs that queue take a second longer), and no
// maillog: a postlogd that stops first can block the others' logging.
func TestDialogsAgainstPostfix(t *testing.T) {
	postfix := "/usr/sbin/postfix"
	if _, err := os.Stat(postfix); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Postfix is not installed but CI must run this test (scripts/install-test-deps)")
		}
		t.Skip("Postfix is not installed (scripts/install-test-deps)")
	}
	if os.Getuid() != 0 {
		t.Skip("starting a private Postfix needs root")
	}
	norm := func(l string) string { return queueID.ReplaceAllString(l, "queued as ID") }
	instances := map[string]string{} // cf lines -> address
	for _, name := range postfixDialogs {
		d, err := smtptest.ReadDialog(filepath.Join("testdata/dialogs", name))
		if err != nil {
			t.Fatal(err)
		}
		addr, ok := instances[d.Cf]
		if !ok {
			addr = startPostfix(t, d.Cf)
			instances[d.Cf] = addr
		}
		t.Run(name, func(t *testing.T) { d.Exchange(t, addr, norm) })
	}
}

// startPostfix starts a private Postfix instance with postfixBase plus
// cf and returns its SMTP address; it is stopped when the test ends.
func startPostfix(t *testing.T, cf string) string {
	t.Helper()
	pf, err := user.Lookup("postfix")
	if err != nil {
		t.Skip("no postfix user:", err)
	}
	uid, _ := strconv.Atoi(pf.Uid)
	dir := t.TempDir()
	// Postfix's daemons run as postfix and must reach their directories.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	for _, d := range []string{"etc", "spool", "data"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chown(filepath.Join(dir, "data"), uid, -1)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	main := postfixBase + cf + fmt.Sprintf("queue_directory = %s/spool\ndata_directory = %s/data\n"+
		"inet_interfaces = 127.0.0.1\n", dir, dir)
	master := addr + ` inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
tlsmgr unix - - n 1000? 1 tlsmgr
`
	etc := filepath.Join(dir, "etc")
	for name, text := range map[string]string{"main.cf": main, "master.cf": master} {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("/usr/sbin/postfix", "-c", etc, "start").CombinedOutput(); err != nil {
		t.Fatalf("postfix start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		exec.CommandContext(ctx, "/usr/sbin/postfix", "-c", etc, "stop").Run()
		// Whatever happened to the stop, this instance's master must not
		// outlive the test: still running if the pid it wrote names a
		// process working in this spool (not a reused pid).
		spool := filepath.Join(dir, "spool")
		if b, err := os.ReadFile(filepath.Join(spool, "pid", "master.pid")); err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && pid > 1 && cwd == spool {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	// Ready when it greets.
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp4", addr, time.Second); err == nil {
			c.SetDeadline(time.Now().Add(10 * time.Second))
			l, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(l, "220 ") {
				return addr
			}
		}
		if time.Now().After(end) {
			t.Fatalf("Postfix never greeted on %s", addr)
		}
	}
}
