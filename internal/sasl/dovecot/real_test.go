package dovecot

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/sasl"
)

// realDovecot is a private Dovecot instance: auth only, its client
// socket in a temp dir and on a loopback port.
type realDovecot struct {
	dir, socket, inet string
	bin, conf         string
	out               *strings.Builder
	cmd               *exec.Cmd
	exited            chan struct{}
}

// start runs Dovecot and waits for both listeners to accept (the
// event), with a generous overall deadline for a loaded machine.
func (d *realDovecot) start(t testing.TB) {
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
	for _, a := range [][2]string{{"unix", d.socket}, {"tcp", d.inet}} {
		for {
			c, err := net.Dial(a[0], a[1])
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-d.exited:
				log, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
				t.Fatalf("dovecot exited: %s\n%s", d.out, log)
			case <-deadline:
				log, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
				t.Fatalf("dovecot's %s listener %s never came up: %s\n%s", a[0], a[1], d.out, log)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// stop ends Dovecot by its pid and waits for it to exit.
func (d *realDovecot) stop() {
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

// startDovecot runs /usr/sbin/dovecot in the foreground with a private
// configuration (see /work/shared/test-components.md) and stops it by
// its pid when the test ends.
func startDovecot(t testing.TB) *realDovecot {
	t.Helper()
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/dovecot"); err != nil {
			t.Skip("dovecot is not installed (scripts/install-test-deps installs dovecot-core)")
		}
		bin = "/usr/sbin/dovecot"
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: Dovecot starts as root and runs its auth service as its own user")
	}
	doveadm, err := exec.LookPath("doveadm") // /usr/bin on Debian
	if err != nil {
		t.Fatalf("dovecot is installed without doveadm: %v", err)
	}
	// Dovecot's auth process runs as its own user: it must reach the
	// passwd-file, so the directory is world-searchable (not t.TempDir,
	// whose parent is 0700).
	dir, err := os.MkdirTemp("", "postern-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	hash, err := exec.Command(doveadm, "pw", "-s", "SHA512-CRYPT", "-p", "secret").Output()
	if err != nil {
		t.Fatalf("doveadm pw: %v", err)
	}
	users := "alice@v.test:" + strings.TrimSpace(string(hash)) + "\n" +
		"bob@v.test:{PLAIN}p@ss word\n"
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(users), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port for the inet_listener
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	d := &realDovecot{dir: dir, socket: filepath.Join(dir, "sock", "auth"), inet: fmt.Sprintf("127.0.0.1:%d", port)}
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
	t.Cleanup(d.stop)
	d.start(t)
	return d
}

func TestRealDovecot(t *testing.T) {
	d := startDovecot(t)
	n := 0
	for _, c := range []*Client{New("unix", d.socket, "smtp"), New("tcp", d.inet, "smtp")} {
		t.Run(c.network, func(t *testing.T) {
			defer c.Close()
			ctx := ctxT(t, 60*time.Second)
			mechs, err := c.Mechanisms(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []sasl.Mechanism{{Name: "PLAIN", Plaintext: true}, {Name: "LOGIN", Plaintext: true}}
			if fmt.Sprint(mechs) != fmt.Sprint(want) {
				t.Errorf("mechanisms %+v", mechs)
			}
			secured := sasl.Client{Secured: true, LocalAddr: netip.MustParseAddrPort("127.0.0.1:587"), RemoteAddr: netip.MustParseAddrPort("192.0.2.7:50000")}
			for _, tc := range []struct {
				name, mech string
				cl         sasl.Client
				initial    []byte
				answers    []string
				user       string
				reason     string
			}{
				{"PLAIN right", "PLAIN", secured, plain("alice@v.test", "secret"), nil, "alice@v.test", ""},
				{"PLAIN right, space and @ in the password", "PLAIN", secured, plain("bob@v.test", "p@ss word"), nil, "bob@v.test", ""},
				{"PLAIN wrong", "PLAIN", secured, plain("alice@v.test", "Secret"), nil, "", ""},
				{"PLAIN unknown user", "PLAIN", secured, plain("carol@v.test", "secret"), nil, "", ""},
				{"PLAIN no initial response", "PLAIN", secured, nil, []string{"\x00alice@v.test\x00secret"}, "alice@v.test", ""},
				{"LOGIN right", "LOGIN", secured, nil, []string{"alice@v.test", "secret"}, "alice@v.test", ""},
				{"LOGIN wrong", "LOGIN", secured, nil, []string{"alice@v.test", "nope"}, "", ""},
				{"LOGIN unknown user", "LOGIN", secured, nil, []string{"nobody@v.test", "secret"}, "", ""},
				{"injection in the user name", "PLAIN", secured, plain("alice@v.test\tuser=bob@v.test\n", "secret"), nil, "", ""},
			} {
				// Each case from its own address: Dovecot slows down
				// failures per client address (auth penalty).
				n++
				tc.cl.RemoteAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(n)}), 50000)
				start := time.Now()
				ex, err := c.Start(ctx, tc.mech, tc.cl, tc.initial)
				if err != nil {
					t.Fatal(err)
				}
				st, err := ex.Next(ctx, nil)
				answers := tc.answers
				for err == nil && !st.Done && len(answers) > 0 {
					st, err = ex.Next(ctx, []byte(answers[0]))
					answers = answers[1:]
				}
				if err != nil || !st.Done || st.User != tc.user || !strings.Contains(st.Reason, tc.reason) {
					t.Errorf("%s: %+v %v", tc.name, st, err)
				}
				t.Logf("%s: %v", tc.name, time.Since(start))
			}
		})
	}
}

// Concurrent exchanges against the real Dovecot on one client.
func TestRealDovecotConcurrent(t *testing.T) {
	d := startDovecot(t)
	c := New("unix", d.socket, "smtp")
	defer c.Close()
	ctx := ctxT(t, 120*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			user, pass, want := "bob@v.test", "p@ss word", "bob@v.test"
			if i%3 == 0 {
				pass, want = "wrong", ""
			}
			ex, _ := c.Start(ctx, "LOGIN", sasl.Client{Secured: true}, nil)
			st, err := ex.Next(ctx, nil)
			for _, a := range []string{user, pass} {
				if err == nil && !st.Done {
					st, err = ex.Next(ctx, []byte(a))
				}
			}
			if err == nil && (!st.Done || st.User != want) {
				err = fmt.Errorf("exchange %d: %+v", i, st)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Dovecot stopped (a temporary failure) and started again: the client
// reconnects.
func TestRealDovecotRestart(t *testing.T) {
	d := startDovecot(t)
	c := New("unix", d.socket, "smtp")
	// Dovecot 2.3's master waits (up to 30 s) for its auth process,
	// which waits for its clients to disconnect: the idle close lets
	// it stop.
	c.IdleTimeout = 100 * time.Millisecond
	defer c.Close()
	ctx := ctxT(t, 60*time.Second)
	auth := func() (sasl.Step, error) {
		ex, _ := c.Start(ctx, "PLAIN", sasl.Client{Secured: true}, plain("bob@v.test", "p@ss word"))
		return ex.Next(ctx, nil)
	}
	if st, err := auth(); err != nil || st.User != "bob@v.test" {
		t.Fatalf("%+v %v", st, err)
	}
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	d.stop()
	<-cn.dead // the event: the client saw the connection close
	if _, err := auth(); err == nil {
		t.Fatal("no error while Dovecot is down")
	}
	d.start(t)
	if st, err := auth(); err != nil || st.User != "bob@v.test" {
		t.Fatalf("after Dovecot restarted: %+v %v", st, err)
	}
}

// BenchmarkRealShared: exchanges multiplexed on one connection.
func BenchmarkRealShared(b *testing.B) {
	d := startDovecot(b)
	c := New("unix", d.socket, "smtp")
	defer c.Close()
	ctx := context.Background()
	b.SetParallelism(10) // 10 sessions per CPU at once
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ex, _ := c.Start(ctx, "PLAIN", sasl.Client{Secured: true}, plain("bob@v.test", "p@ss word"))
			if st, err := ex.Next(ctx, nil); err != nil || st.User == "" {
				b.Fatal(st, err)
			}
		}
	})
}

// BenchmarkRealPerExchange: a new connection (and handshake) for each
// exchange, for comparison.
func BenchmarkRealPerExchange(b *testing.B) {
	d := startDovecot(b)
	ctx := context.Background()
	b.SetParallelism(10)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c := New("unix", d.socket, "smtp")
			ex, _ := c.Start(ctx, "PLAIN", sasl.Client{Secured: true}, plain("bob@v.test", "p@ss word"))
			if st, err := ex.Next(ctx, nil); err != nil || st.User == "" {
				b.Fatal(st, err)
			}
			c.Close()
		}
	})
}
