package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/postern-mta/postern/internal/dovecottest"
	"github.com/postern-mta/postern/internal/passwd"
	"github.com/postern-mta/postern/internal/testperm"
)

// passwdConf is a configuration directory whose main.cf selects the
// passwd-file backend with the file "users" beside it.
func passwdConf(t *testing.T) (dir, users string) {
	t.Helper()
	dir = t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\nsmtpd_sasl_path = users\nmail_owner = nobody\n"), 0o644)
	return dir, filepath.Join(dir, "users")
}

// runPasswdBin runs the built postern passwd with stdin (not a terminal).
func runPasswdBin(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "postern"), append([]string{"passwd"}, args...)...)
	cmd.Env = append(os.Environ(), "POSTERN_CONFIG_DIR=")
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// loginOK verifies user/password against the file as the server does.
func loginOK(t *testing.T, path, user, pw string) bool {
	t.Helper()
	db, err := passwd.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Verify(context.Background(), user, pw, netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	return r.OK
}

func TestPasswdAddChangeDelete(t *testing.T) {
	dir, users := passwdConf(t)
	out, errOut, code := runPasswdBin(t, "s3cret\n", "-c", dir, "Alice")
	if code != 0 || !strings.Contains(out, "added user alice to "+users) {
		t.Fatalf("add: exit %d\n%s%s", code, out, errOut)
	}
	if st, _ := os.Stat(users); st.Mode().Perm() != 0o640 {
		t.Errorf("new file mode %o, want 640", st.Mode().Perm())
	}
	// A new file belongs to mail_owner's group, which the daemon runs as.
	if nobody, err := user.Lookup("nobody"); err == nil && os.Geteuid() == 0 {
		if got := fileGroup(t, users); got != nobody.Gid {
			t.Errorf("new file group %s, want mail_owner nobody's %s", got, nobody.Gid)
		}
	}
	data, _ := os.ReadFile(users)
	if !strings.HasPrefix(string(data), "alice:{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$") || !loginOK(t, users, "alice", "s3cret") {
		t.Fatalf("file %q", data)
	}
	// Other lines, comments and the mode are kept; -s picks the scheme.
	os.WriteFile(users, append([]byte("# team\n"), append(data, []byte("bob:*:1000:1000::/home/bob::userdb_x=1\n")...)...), 0o600)
	os.Chmod(users, 0o600)
	os.Chown(users, -1, 12345)
	out, errOut, code = runPasswdBin(t, "n3w pass\r\n", "-c", dir, "-s", "sha512-crypt", "bob")
	if code != 0 || !strings.Contains(out, "changed the password of bob") {
		t.Fatalf("change: exit %d\n%s%s", code, out, errOut)
	}
	data, _ = os.ReadFile(users)
	lines := strings.Split(string(data), "\n")
	if len(lines) != 4 || lines[0] != "# team" || !strings.HasPrefix(lines[1], "alice:{ARGON2ID}") ||
		!strings.HasPrefix(lines[2], "bob:{SHA512-CRYPT}$6$") || !strings.HasSuffix(lines[2], ":1000:1000::/home/bob::userdb_x=1") {
		t.Fatalf("file after change:\n%s", data)
	}
	if st, _ := os.Stat(users); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want the file's 600 kept", st.Mode().Perm())
	}
	if got := fileGroup(t, users); os.Geteuid() == 0 && got != "12345" {
		t.Errorf("group %s, want the file's 12345 kept", got)
	}
	if !loginOK(t, users, "bob", "n3w pass") || !loginOK(t, users, "alice", "s3cret") {
		t.Error("a password does not verify after the change")
	}
	// -d deletes; an unknown user is an error and changes nothing.
	if out, errOut, code = runPasswdBin(t, "", "-c", dir, "-d", "ALICE"); code != 0 || !strings.Contains(out, "deleted user alice") {
		t.Fatalf("delete: exit %d\n%s%s", code, out, errOut)
	}
	before, _ := os.ReadFile(users)
	if strings.Contains(string(before), "alice") {
		t.Fatalf("alice still there:\n%s", before)
	}
	if _, errOut, code = runPasswdBin(t, "", "-c", dir, "-d", "alice"); code != 1 || !strings.Contains(errOut, "user alice is not in "+users) {
		t.Errorf("delete of a missing user: exit %d %s", code, errOut)
	}
	if after, _ := os.ReadFile(users); !bytes.Equal(before, after) {
		t.Error("a failed delete changed the file")
	}
}

func fileGroup(t *testing.T, path string) string {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(st.Sys().(*syscall.Stat_t).Gid)
}

// postern passwd run many times at once loses no user: each reads,
// changes and replaces the file under a lock.
func TestPasswdConcurrent(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users")
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(filepath.Join(binDir, "postern"), "passwd", "-f", users, "-s", "SHA256-CRYPT", fmt.Sprintf("user%d", i))
			cmd.Stdin = strings.NewReader("pw\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("user%d: %v %s", i, err, out)
			}
		}()
	}
	wg.Wait()
	data, _ := os.ReadFile(users)
	if got := strings.Count(string(data), "\n"); got != n {
		t.Errorf("%d users in the file, want %d:\n%s", got, n, data)
	}
}

// Every scheme postern passwd writes verifies in Dovecot.
func TestPasswdHashesVerifyInDovecot(t *testing.T) {
	bin, err := exec.LookPath("doveadm")
	if err != nil {
		t.Skip("doveadm is not installed (Debian package dovecot-core)")
	}
	users := filepath.Join(t.TempDir(), "users")
	for _, s := range []string{"ARGON2ID", "BLF-CRYPT", "SHA512-CRYPT"} {
		if _, errOut, code := runPasswdBin(t, "pw-"+s+"\n", "-f", users, "-s", s, "u"); code != 0 {
			t.Fatalf("%s: exit %d %s", s, code, errOut)
		}
		data, _ := os.ReadFile(users)
		field := strings.Split(strings.TrimSpace(string(data)), ":")[1]
		if out, err := exec.Command(bin, "pw", "-t", field, "-p", "pw-"+s).CombinedOutput(); err != nil {
			t.Errorf("doveadm pw -t %s: %v %s", field, err, out)
		}
	}
}

func TestPasswdErrors(t *testing.T) {
	dir, users := passwdConf(t)
	os.WriteFile(users, []byte("alice:*\n"), 0o640)
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "main.cf"), []byte("smtpd_sasl_type = dovecot\nsmtpd_sasl_path = private/auth\n"), 0o644)
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("carol:{PLAIN}x\n"), 0o640)
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		want        string
	}{
		{"no user", "x\n", []string{"-c", dir}, 64, "give exactly one user name"},
		{"two users", "x\n", []string{"-c", dir, "a", "b"}, 64, "give exactly one user name"},
		{"bad flag", "x\n", []string{"-c", dir, "-x", "a"}, 64, "flag provided but not defined"},
		{"bad scheme", "x\n", []string{"-c", dir, "-s", "PLAIN", "a"}, 64, `cannot hash with scheme "PLAIN"`},
		{"-d with -s", "", []string{"-c", dir, "-d", "-s", "ARGON2ID", "a"}, 64, "-d and -s do not go together"},
		{"colon in the name", "x\n", []string{"-c", dir, "a:b"}, 64, "space, colon or control character"},
		{"empty password", "\n", []string{"-c", dir, "bob"}, 1, "empty password; nothing changed"},
		{"no password", "", []string{"-c", dir, "bob"}, 1, "no password on standard input"},
		{"too long for SMTP AUTH", strings.Repeat("p", 1025) + "\n", []string{"-c", dir, "bob"}, 1, "longer than 1024 bytes"},
		{"too long without a newline", strings.Repeat("p", 5000), []string{"-c", dir, "bob"}, 1, "longer than 1024 bytes"},
		{"NUL", "a\x00b\n", []string{"-c", dir, "bob"}, 1, "NUL byte"},
		{"too long for bcrypt", strings.Repeat("p", 73) + "\n", []string{"-c", dir, "-s", "BLF-CRYPT", "bob"}, 1, "first 72 bytes"},
		{"not the passwd-file backend", "x\n", []string{"-c", other, "bob"}, 1, `smtpd_sasl_type is "dovecot", not passwd-file, in ` + other + "/main.cf: name the file with -f FILE"},
		{"bad file stays", "x\n", []string{"-f", bad, "bob"}, 1, bad + ", line 1: user carol: unsupported password scheme {PLAIN}"},
	}
	for _, tt := range tests {
		before, _ := os.ReadFile(users)
		_, errOut, code := runPasswdBin(t, tt.stdin, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, want %d; stderr %q, want %q", tt.name, code, tt.code, errOut, tt.want)
		}
		if after, _ := os.ReadFile(users); !bytes.Equal(before, after) {
			t.Errorf("%s: the file changed", tt.name)
		}
	}
	if data, _ := os.ReadFile(bad); string(data) != "carol:{PLAIN}x\n" {
		t.Errorf("the bad file changed: %q", data)
	}
}

// The file postern passwd writes serves Dovecot too: a real Dovecot 2.3
// (started here with a private configuration, its auth socket in a temp
// directory) logs in users of every scheme from it.
func TestPasswdFileServesDovecot(t *testing.T) {
	doveadm := dovecottest.Doveadm(t)
	dir := t.TempDir()
	testperm.OpenDirs(dir) // Dovecot's auth process runs as user dovecot
	users := filepath.Join(dir, "users")
	schemes := map[string]string{"argon": "ARGON2ID", "blf": "BLF-CRYPT", "sha": "SHA512-CRYPT"}
	for u, s := range schemes {
		if _, errOut, code := runPasswdBin(t, "pw-"+u+"\n", "-f", users, "-s", s, u); code != 0 {
			t.Fatalf("%s: %s", s, errOut)
		}
	}
	data, err := os.ReadFile(users)
	if err != nil {
		t.Fatal(err)
	}
	d := dovecottest.Start(t, string(data))
	conf := filepath.Join(d.Dir, "dovecot.conf")
	for u := range schemes {
		if o, err := exec.Command(doveadm, "-c", conf, "auth", "test", u, "pw-"+u).CombinedOutput(); err != nil {
			t.Errorf("Dovecot refuses %s with the right password: %v\n%s", u, err, o)
		}
	}
	if err := exec.Command(doveadm, "-c", conf, "auth", "test", "blf", "wrong").Run(); err == nil {
		t.Error("Dovecot accepts a wrong password")
	}
}

// pty is a pseudo-terminal: the test types on master, the command reads
// the slave as its terminal.
type pty struct {
	master, slave *os.File
	mu            sync.Mutex
	out           bytes.Buffer
	changed       chan struct{}
}

func openPty(t *testing.T) *pty {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &pty{master: m, slave: s, changed: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := m.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			select {
			case p.changed <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { s.Close(); m.Close() })
	return p
}

func (p *pty) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits until the terminal shows s (count times).
func (p *pty) waitFor(t *testing.T, s string, count int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for strings.Count(p.output(), s) < count {
		select {
		case <-p.changed:
		case <-deadline:
			t.Fatalf("the terminal never showed %q; it shows %q", s, p.output())
		}
	}
}

// startOnPty runs postern passwd with the pty as its controlling
// terminal, so that ^C reaches it as SIGINT.
func startOnPty(t *testing.T, p *pty, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "postern"), append([]string{"passwd"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func echoOn(t *testing.T, p *pty) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(p.slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// On a terminal the password is asked twice and never echoed; echo is
// back on afterwards.
func TestPasswdTerminalNoEcho(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users")
	p := openPty(t)
	cmd := startOnPty(t, p, "-f", users, "-s", "SHA512-CRYPT", "alice")
	p.waitFor(t, "New password: ", 1)
	p.master.Write([]byte("typed-secret\n"))
	p.waitFor(t, "Retype new password: ", 1)
	p.master.Write([]byte("typed-secret\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, p.output())
	}
	p.waitFor(t, "added user alice", 1)
	if strings.Contains(p.output(), "typed-secret") {
		t.Errorf("the password was echoed: %q", p.output())
	}
	if !echoOn(t, p) {
		t.Error("echo is still off after the command")
	}
	if !loginOK(t, users, "alice", "typed-secret") {
		t.Error("the typed password does not verify")
	}

	// Two different answers change nothing.
	cmd = startOnPty(t, p, "-f", users, "-s", "SHA512-CRYPT", "alice")
	p.waitFor(t, "New password: ", 2)
	p.master.Write([]byte("one\n"))
	p.waitFor(t, "Retype new password: ", 2)
	p.master.Write([]byte("two\n"))
	if err := cmd.Wait(); err == nil {
		t.Fatal("differing passwords accepted")
	}
	p.waitFor(t, "the passwords differ; nothing changed", 1)
	if !loginOK(t, users, "alice", "typed-secret") {
		t.Error("the old password no longer verifies")
	}
}

// ^C at the prompt ends the command with echo turned back on.
func TestPasswdTerminalInterruptRestoresEcho(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users")
	p := openPty(t)
	cmd := startOnPty(t, p, "-f", users, "alice")
	p.waitFor(t, "New password: ", 1)
	if echoOn(t, p) {
		t.Fatal("echo is on at the password prompt")
	}
	p.master.Write([]byte{3}) // ^C
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("after ^C: %v, want exit status 130", err)
	}
	if !echoOn(t, p) {
		t.Error("echo is still off after ^C")
	}
	if _, err := os.Stat(users); err == nil {
		t.Error("the file was written after ^C")
	}
}
