// Package dovecottest runs a private Dovecot 2.3 auth service for tests:
// its configuration, state and logs in a world-searchable temp dir, its
// client socket there (and on a loopback port), a passwd-file of the
// test's users, stopped by its pid when the test ends. It skips the test
// when Dovecot is not installed (scripts/install-test-deps installs
// dovecot-core) or the test does not run as root.
package dovecottest

import (
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
)

// Dovecot is a running private Dovecot: Socket is its auth client
// socket (smtpd_sasl_path), Inet the same service on 127.0.0.1. A mail
// store (StartStore) has no auth listeners: Socket is its LMTP socket
// and Inet its IMAP listener.
type Dovecot struct {
	Dir, Socket, Inet string
	bin, conf         string
	out               *strings.Builder
	cmd               *exec.Cmd
	exited            chan struct{}
}

// Doveadm returns the path of doveadm, skipping the test when Dovecot
// is not installed.
func Doveadm(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("doveadm") // /usr/bin on Debian
	if err != nil {
		t.Skip("doveadm is not installed (scripts/install-test-deps installs dovecot-core)")
	}
	return p
}

// Hash is the passwd-file field `doveadm pw -s scheme` makes for
// password, such as "{ARGON2ID}$argon2id$…".
func Hash(t testing.TB, scheme, password string) string {
	t.Helper()
	out, err := exec.Command(Doveadm(t), "pw", "-s", scheme, "-p", password).Output()
	if err != nil {
		t.Fatalf("doveadm pw -s %s: %v", scheme, err)
	}
	return strings.TrimSpace(string(out))
}

// binary returns dovecot's path, skipping the test when Dovecot is not
// installed or the test does not run as root.
func binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/dovecot"); err != nil {
			t.Skip("dovecot is not installed (scripts/install-test-deps installs dovecot-core)")
		}
		bin = "/usr/sbin/dovecot"
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: Dovecot starts as root and runs its services as its own users")
	}
	Doveadm(t)
	return bin
}

// tempDir is a world-searchable temporary directory, removed at the
// end: Dovecot's processes run as their own users and must reach it (not
// t.TempDir, whose parent is 0700). Its name is short, for socket paths.
func tempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "postern-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Start runs /usr/sbin/dovecot in the foreground with a private
// configuration (see /work/shared/test-components.md) whose passdb is
// the passwd-file users (lines "name:{SCHEME}hash"), waits until both
// listeners accept, and stops it when the test ends.
func Start(t testing.TB, users string) *Dovecot {
	t.Helper()
	bin := binary(t)
	// Dovecot's auth process runs as its own user: it must reach the
	// passwd-file.
	dir := tempDir(t)
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(users), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t) // for the inet_listener
	d := &Dovecot{Dir: dir, Socket: filepath.Join(dir, "sock", "auth"), Inet: fmt.Sprintf("127.0.0.1:%d", port)}
	conf := fmt.Sprintf(`protocols = none
listen = 127.0.0.1
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = %[1]s/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=%[1]s/home
}
# no auth penalty (a growing delay after failures from an address): tests
# fail logins on purpose and must not wait for it
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener %[1]s/sock/auth {
    mode = 0666
  }
  inet_listener auth-inet {
    address = 127.0.0.1
    port = %[2]d
  }
}
`, dir, port)
	if err := os.MkdirAll(filepath.Join(dir, "sock"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dovecot.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d.bin, d.conf = bin, filepath.Join(dir, "dovecot.conf")
	t.Cleanup(d.Stop)
	d.Run(t)
	return d
}

// Run starts Dovecot (again, after Stop) and waits for both listeners
// to accept (the event), with a generous overall deadline for a loaded
// machine.
func (d *Dovecot) Run(t testing.TB) {
	t.Helper()
	d.cmd = exec.Command(d.bin, "-F", "-c", d.conf)
	d.out = &strings.Builder{}
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(d.cmd, d.exited)
	deadline := time.After(60 * time.Second)
	for _, a := range [][2]string{{"unix", d.Socket}, {"tcp", d.Inet}} {
		for {
			c, err := net.Dial(a[0], a[1])
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-d.exited:
				t.Fatalf("dovecot exited: %s\n%s", d.out, d.Log())
			case <-deadline:
				t.Fatalf("dovecot's %s listener %s never came up: %s\n%s", a[0], a[1], d.out, d.Log())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// AuthRSS is the resident memory (KiB) of Dovecot's auth process (a
// child of the master, "dovecot/auth"), or -1 if it is not found: what
// an authentication request left open in Dovecot costs (~6 KB each).
func (d *Dovecot) AuthRSS() int {
	if d.cmd == nil || d.cmd.Process == nil {
		return -1
	}
	master := strconv.Itoa(d.cmd.Process.Pid)
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b) // pid (comm) state ppid ...
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "(auth") {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) < 2 || f[1] != master {
			continue
		}
		st, err := os.ReadFile(filepath.Join(filepath.Dir(p), "status"))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(st), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				if err == nil {
					return n
				}
			}
		}
	}
	return -1
}

// Log is Dovecot's log so far.
func (d *Dovecot) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.Dir, "dovecot.log"))
	return string(b)
}

// Stop ends Dovecot by its pid and waits for it to exit.
func (d *Dovecot) Stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
}
