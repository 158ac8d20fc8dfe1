package smtpd_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// postfixDialogs are the dialogs whose every reply Postfix's own smtpd
// (the 3.7 reference, with the 3.9 settings below) gives byte for byte,
// queue IDs aside: the pipelining and stray <CR> rules.
var postfixDialogs = []string{
	"05-pipelining.txt", "09-bdat.txt", "15-unauth-pipelining.txt",
	"34-pipelining-after-helo.txt", "35-pipelining-in-helo-session.txt", "36-pipelining-after-ehlo.txt",
	"37-pipelining-after-data.txt", "38-pipelining-after-noop.txt", "39-pipelining-after-vrfy.txt",
	"40-pipelining-quit.txt", "44-pipelining-quit-helo.txt", "41-unauth-pipelining-remembered.txt", "42-stray-cr-replaced.txt",
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
// port; nothing is delivered: there is no queue manager) and checks that
// it gives the replies the dialogs expect of postern.
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
		"inet_interfaces = 127.0.0.1\nmaillog_file = %s/maillog\nmaillog_file_prefixes = %s\n", dir, dir, dir, dir)
	master := addr + ` inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
postlog unix-dgram n - n - 1 postlogd
`
	etc := filepath.Join(dir, "etc")
	for name, text := range map[string]string{"main.cf": main, "master.cf": master} {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) {
		if out, err := exec.Command("/usr/sbin/postfix", append([]string{"-c", etc}, args...)...).CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			t.Fatalf("postfix %s: %v\n%s\n%s", strings.Join(args, " "), err, out, log)
		}
	}
	run("start")
	t.Cleanup(func() { exec.Command("/usr/sbin/postfix", "-c", etc, "stop").Run() })
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
			log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			t.Fatalf("Postfix never greeted on %s:\n%s", addr, log)
		}
	}
}
