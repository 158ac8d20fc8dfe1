package miltertest

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Real milters (OpenDKIM, rspamd) started by tests, each a private
// instance in its own directory on loopback ports, stopped at the
// test's end (recipes: /work/shared/test-components.md). They skip the
// test when the program is missing or the test does not run as root
// (they drop to their own users).

// OpenDKIM is a running signing OpenDKIM.
type OpenDKIM struct {
	// Name is the smtpd_milters entry ("inet:127.0.0.1:PORT").
	Name string
	// Domain and Selector sign; TXT is the public key record's text
	// (what would be published at Selector._domainkey.Domain).
	Domain, Selector, TXT string
}

// privateDir makes a directory the daemon's own user can read.
func privateDir(t testing.TB, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func needRoot(t testing.TB, progs ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: the milter drops to its own user (CI runs as root)")
	}
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed (scripts/install-test-deps)", p)
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening waits until something accepts connections on port, or
// the process exits. The deadline is only a safety net for a daemon that
// hangs: rspamd alone needs over a minute to load on a busy 2-core CI
// machine, so it is generous.
func waitListening(t testing.TB, port int, what string, exited <-chan struct{}, logf func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		c, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before listening on %d: %s", what, port, logf())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %d: %s", what, port, logf())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// start runs cmd in its own process group, stopped (the whole group)
// at the test's end; the returned channel closes when it exits.
func start(t testing.TB, cmd *exec.Cmd) <-chan struct{} {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	return exited
}

// syncBuf collects a daemon's output.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var quoted = regexp.MustCompile(`"([^"]*)"`)

// StartOpenDKIM starts OpenDKIM signing for domain with a new 2048-bit
// key, for mail from 127.0.0.0/8.
func StartOpenDKIM(t testing.TB, domain, selector string) *OpenDKIM {
	t.Helper()
	needRoot(t, "opendkim", "opendkim-genkey")
	u, err := user.Lookup("opendkim")
	if err != nil {
		t.Skip("no opendkim user:", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	d := privateDir(t, "opendkim-")
	dk := filepath.Join(d, "dk")
	if err := os.Mkdir(dk, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("opendkim-genkey", "-b", "2048", "-d", domain, "-s", selector, "-D", dk).CombinedOutput(); err != nil {
		t.Fatalf("opendkim-genkey: %v\n%s", err, out)
	}
	for _, f := range []string{dk, filepath.Join(dk, selector+".private"), filepath.Join(dk, selector+".txt")} {
		if err := os.Chown(f, uid, -1); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := os.ReadFile(filepath.Join(dk, selector+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	var txt strings.Builder
	for _, m := range quoted.FindAllStringSubmatch(string(rec), -1) {
		txt.WriteString(m[1])
	}
	port := freePort(t)
	conf := filepath.Join(d, "opendkim.conf")
	os.WriteFile(conf, []byte("Mode s\nDomain "+domain+"\nSelector "+selector+"\nKeyFile "+filepath.Join(dk, selector+".private")+
		"\nSocket inet:"+strconv.Itoa(port)+"@127.0.0.1\nCanonicalization relaxed/relaxed\nInternalHosts 127.0.0.0/8\n"+
		"Syslog no\nBackground no\nUserID opendkim\nRequireSafeKeys false\n"), 0o644)
	cmd := exec.Command("opendkim", "-x", conf)
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	exited := start(t, cmd)
	waitListening(t, port, "opendkim", exited, out.String)
	return &OpenDKIM{Name: "inet:127.0.0.1:" + strconv.Itoa(port), Domain: domain, Selector: selector, TXT: txt.String()}
}

// Rspamd is a running rspamd with its milter (proxy) worker.
type Rspamd struct {
	// Name is the smtpd_milters entry of the proxy worker.
	Name string
	// Normal is the normal worker's host:port (rspamc -h).
	Normal string
	dir    string
}

// Log returns rspamd's log so far.
func (r *Rspamd) Log() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "rspamd.log"))
	return string(b)
}

// StartRspamd starts rspamd with Debian's configuration and a private
// local.d: loopback ports, DNS on 127.0.0.1 (lookups fail fast), its
// headers added to local mail too.
func StartRspamd(t testing.TB) *Rspamd {
	t.Helper()
	needRoot(t, "rspamd")
	u, err := user.Lookup("_rspamd")
	if err != nil {
		t.Skip("no _rspamd user:", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	d := privateDir(t, "rspamd-")
	for _, sub := range []string{"local.d", "run", "db"} {
		p := filepath.Join(d, sub)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if sub != "local.d" {
			os.Chown(p, uid, gid)
		}
	}
	proxy, normal, ctl := freePort(t), freePort(t), freePort(t)
	files := map[string]string{
		"worker-proxy.inc": "bind_socket = \"127.0.0.1:" + strconv.Itoa(proxy) + "\";\nmilter = yes;\ntimeout = 120s;\n" +
			"upstream \"local\" {\n  default = yes;\n  self_scan = yes;\n}\n",
		"worker-normal.inc":     "bind_socket = \"127.0.0.1:" + strconv.Itoa(normal) + "\";\n",
		"worker-controller.inc": "bind_socket = \"127.0.0.1:" + strconv.Itoa(ctl) + "\";\n",
		"options.inc": "dns {\n  nameserver = [\"127.0.0.1:53\"];\n  timeout = 1s;\n  retransmits = 1;\n}\n" +
			"pidfile = \"" + filepath.Join(d, "run", "rspamd.pid") + "\";\n",
		"logging.inc":         "type = \"file\";\nfilename = \"" + filepath.Join(d, "rspamd.log") + "\";\nlevel = \"info\";\n",
		"milter_headers.conf": "use = [\"x-spamd-result\", \"x-rspamd-server\", \"x-rspamd-queue-id\"];\nskip_local = false;\nskip_authenticated = false;\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(d, "local.d", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// the log file is written by the workers (_rspamd)
	lf := filepath.Join(d, "rspamd.log")
	os.WriteFile(lf, nil, 0o644)
	os.Chown(lf, uid, gid)
	cmd := exec.Command("rspamd", "-f", "-c", "/etc/rspamd/rspamd.conf", "--var=LOCAL_CONFDIR="+d,
		"--var=DBDIR="+filepath.Join(d, "db"), "--var=RUNDIR="+filepath.Join(d, "run"), "-u", "_rspamd", "-g", "_rspamd")
	out := &syncBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	r := &Rspamd{Name: "inet:127.0.0.1:" + strconv.Itoa(proxy), Normal: "127.0.0.1:" + strconv.Itoa(normal), dir: d}
	exited := start(t, cmd)
	logf := func() string { return out.String() + r.Log() }
	waitListening(t, proxy, "rspamd", exited, logf)
	waitListening(t, normal, "rspamd", exited, logf)
	return r
}
