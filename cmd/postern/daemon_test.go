package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/testperm"
)

// instance is a configuration directory for one test daemon: its own
// queue and data directories, the test's user as mail_owner, one smtpd
// service on a free unprivileged port.
type instance struct {
	dir, data string
	port      int
}

func newInstance(t *testing.T, mainCf string) *instance {
	t.Helper()
	dir := t.TempDir()
	in := &instance{dir: dir, data: filepath.Join(dir, "data"), port: freePort(t)}
	in.writeMain(t, mainCf)
	master := fmt.Sprintf("%d inet n - n - - smtpd\n", in.port)
	if err := os.WriteFile(filepath.Join(dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, _, code := runBin(t, "postern", "status", "-c", dir); code == 0 {
			runBin(t, "postern", "abort", "-c", dir)
		}
	})
	return in
}

func (in *instance) writeMain(t *testing.T, extra string) {
	t.Helper()
	u, _ := user.Current()
	text := fmt.Sprintf("queue_directory = %s/queue\ndata_directory = %s\nmail_owner = %s\nmyhostname = mx.example.test\n%s\n",
		in.dir, in.data, u.Username, extra)
	if err := os.WriteFile(filepath.Join(in.dir, "main.cf"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (in *instance) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runBin(t, "postern", append(args[:1:1], append([]string{"-c", in.dir}, args[1:]...)...)...)
}

func (in *instance) start(t *testing.T) {
	t.Helper()
	out, e, code := in.run(t, "start")
	if code != 0 {
		t.Fatalf("start: exit %d\n%s%s", code, out, e)
	}
	var pid int
	if _, err := fmt.Sscanf(out, "postern: started (pid %d)", &pid); err != nil || pid <= 0 {
		t.Errorf("start printed %q", out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// listening reads the kernel's table of listening TCP sockets on port, as
// `ss -ltn` does.
func listening(t *testing.T, port int) []string {
	t.Helper()
	var text strings.Builder
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text.Write(b)
	}
	return parseProcNetTCP(text.String(), port)
}

// parseProcNetTCP extracts the listening sockets on port from the text of
// /proc/net/tcp and /proc/net/tcp6.
func parseProcNetTCP(text string, port int) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "0A" { // 0A: LISTEN
			continue
		}
		hostHex, portHex, _ := strings.Cut(fields[1], ":")
		p, _ := strconv.ParseUint(portHex, 16, 16)
		if int(p) != port {
			continue
		}
		raw, _ := hex.DecodeString(hostHex)
		for i := 0; i+4 <= len(raw); i += 4 { // each 32-bit word is little-endian
			raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
		}
		a, _ := netip.AddrFromSlice(raw)
		out = append(out, netip.AddrPortFrom(a, uint16(p)).String())
	}
	slices.Sort(out)
	return out
}

func sockets(port int, addrs ...string) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, netip.AddrPortFrom(netip.MustParseAddr(a), uint16(port)).String())
	}
	slices.Sort(out)
	return out
}

// greet connects and reads the 220 banner.
func greet(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "220 mx.example.test ESMTP postern") {
		return fmt.Errorf("banner %q", line)
	}
	return nil
}

func TestStartStatusStop(t *testing.T) {
	in := newInstance(t, "inet_interfaces = loopback-only")
	in.start(t)
	if got, want := listening(t, in.port), sockets(in.port, "127.0.0.1", "::1"); !slices.Equal(got, want) {
		t.Errorf("listening on %v, want %v", got, want)
	}
	if err := greet(fmt.Sprintf("127.0.0.1:%d", in.port)); err != nil {
		t.Error(err)
	}
	out, _, code := in.run(t, "status")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var rows []string
	for _, l := range lines[1 : len(lines)-1] {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	if q := lines[len(lines)-1]; q != "queue: 0 incoming, 0 active, 0 deferred, 0 hold, 0 corrupt, 0 maildrop" {
		t.Errorf("status queue line %q", q)
	}
	wantRows := []string{fmt.Sprintf("%d 127.0.0.1:%d tcp4", in.port, in.port), fmt.Sprintf("%d [::1]:%d tcp6", in.port, in.port)}
	if code != 0 || !strings.HasPrefix(lines[0], "postern is running: pid ") || !slices.Equal(rows, wantRows) {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	out, _, _ = in.run(t, "status", "-j")
	var st struct {
		Running   bool
		Pid       int
		Listeners []struct{ Service, Address, Network string }
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || !st.Running || st.Pid == 0 || len(st.Listeners) != 2 {
		t.Errorf("status -j: %v\n%s", err, out)
	}
	if _, e, code := in.run(t, "start"); code != 1 || !strings.Contains(e, "already running") {
		t.Errorf("second start: exit %d %q", code, e)
	}
	if out, e, code := in.run(t, "stop"); code != 0 {
		t.Fatalf("stop: exit %d %s%s", code, out, e)
	}
	if got := listening(t, in.port); len(got) != 0 {
		t.Errorf("still listening after stop: %v", got)
	}
	if out, _, code := in.run(t, "status"); code != 1 || out != "postern is not running\n" {
		t.Errorf("status after stop: exit %d %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(in.data, "postern.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
}

func TestListenOnOneAddressOnly(t *testing.T) {
	in := newInstance(t, "inet_interfaces = 127.0.0.2")
	in.start(t)
	if got, want := listening(t, in.port), sockets(in.port, "127.0.0.2"); !slices.Equal(got, want) {
		t.Errorf("listening on %v, want %v", got, want)
	}
	if err := greet(fmt.Sprintf("127.0.0.2:%d", in.port)); err != nil {
		t.Error(err)
	}
	if err := greet(fmt.Sprintf("127.0.0.1:%d", in.port)); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("127.0.0.1 was not refused: %v", err)
	}
}

func TestListenAll(t *testing.T) {
	in := newInstance(t, "inet_interfaces = all\nmynetworks = 127.0.0.0/8")
	in.start(t)
	if got, want := listening(t, in.port), sockets(in.port, "0.0.0.0", "::"); !slices.Equal(got, want) {
		t.Errorf("listening on %v, want %v", got, want)
	}
}

// A start that cannot bind every socket fails, says why, and leaves
// nothing behind.
func TestStartFailsCleanly(t *testing.T) {
	in := newInstance(t, "inet_interfaces = loopback-only")
	busy, err := net.Listen("tcp6", fmt.Sprintf("[::1]:%d", in.port))
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer busy.Close()
	_, e, code := in.run(t, "start")
	if code != 1 || !strings.Contains(e, fmt.Sprintf("cannot listen on [::1]:%d", in.port)) {
		t.Errorf("exit %d %q", code, e)
	}
	if got := listening(t, in.port); !slices.Equal(got, sockets(in.port, "::1")) {
		t.Errorf("sockets left open: %v", got)
	}
	in.writeMain(t, "inet_interfaces = eth9")
	_, e, code = in.run(t, "start")
	if code != 1 || !strings.Contains(e, "parameter inet_interfaces: host not found: eth9") {
		t.Errorf("bad inet_interfaces: exit %d %q", code, e)
	}
}

// Reloads never refuse a connection on an unchanged listener; a changed
// inet_interfaces moves the listener live; a broken change keeps the old.
func TestReload(t *testing.T) {
	in := newInstance(t, "inet_interfaces = loopback-only\ninet_protocols = ipv4")
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	var refused, served atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := greet(addr); err != nil {
					refused.Add(1)
				} else {
					served.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		if out, e, code := in.run(t, "reload"); code != 0 {
			t.Fatalf("reload %d: exit %d %s%s", i, code, out, e)
		}
	}
	close(stop)
	wg.Wait()
	if refused.Load() != 0 || served.Load() == 0 {
		t.Errorf("during 20 reloads: %d connections failed, %d served", refused.Load(), served.Load())
	}

	in.writeMain(t, "inet_interfaces = 127.0.0.2\ninet_protocols = ipv4")
	if out, e, code := in.run(t, "reload"); code != 0 {
		t.Fatalf("reload to 127.0.0.2: exit %d %s%s", code, out, e)
	}
	if got, want := listening(t, in.port), sockets(in.port, "127.0.0.2"); !slices.Equal(got, want) {
		t.Errorf("after moving: listening on %v, want %v", got, want)
	}

	in.writeMain(t, "inet_interfaces = eth9\ninet_protocols = ipv4")
	_, e, code := in.run(t, "reload")
	if code != 1 || !strings.Contains(e, "host not found: eth9") || !strings.Contains(e, "still running the previous configuration") {
		t.Errorf("broken reload: exit %d %q", code, e)
	}
	if err := greet(fmt.Sprintf("127.0.0.2:%d", in.port)); err != nil {
		t.Errorf("old listener no longer serves after a failed reload: %v", err)
	}

	// SIGHUP reloads too.
	in.writeMain(t, "inet_interfaces = 127.0.0.1\ninet_protocols = ipv4")
	out, _, _ := in.run(t, "status", "-j")
	var st struct{ Pid int }
	json.Unmarshal([]byte(out), &st)
	syscall.Kill(st.Pid, syscall.SIGHUP)
	want := sockets(in.port, "127.0.0.1")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if slices.Equal(listening(t, in.port), want) {
			return
		}
	}
	t.Errorf("after SIGHUP: listening on %v, want %v", listening(t, in.port), want)
}

// stop lets open sessions finish, up to its timeout, then closes them.
func TestStopWaitsForSessions(t *testing.T) {
	in := newInstance(t, "inet_interfaces = loopback-only\ninet_protocols = ipv4")
	in.start(t)
	c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", in.port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if out, e, code := in.run(t, "stop", "-t", "2"); code != 0 {
		t.Fatalf("stop: exit %d %s%s", code, out, e)
	}
	if d := time.Since(begin); d < 2*time.Second || d > 10*time.Second {
		t.Errorf("stop took %v with a session open, want about 2s", d)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := br.ReadString('\n'); err == nil {
		t.Error("session still open after stop")
	}
}

// Started as root, the daemon binds, then runs as mail_owner.
func TestDropsRootForMailOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to test dropping root (CI runs as root)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	in := newInstance(t, "inet_interfaces = loopback-only\ninet_protocols = ipv4\nmail_owner = nobody")
	// mail_owner must reach its directories through the test's own.
	testperm.OpenDirs(in.dir)
	in.start(t)
	out, _, _ := in.run(t, "status", "-j")
	var st struct{ Pid int }
	json.Unmarshal([]byte(out), &st)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(l, "Uid:") && strings.Fields(l)[1] != nobody.Uid {
			t.Errorf("daemon runs as %s, want uid %s (nobody)", l, nobody.Uid)
		}
	}
	if err := greet(fmt.Sprintf("127.0.0.1:%d", in.port)); err != nil {
		t.Error(err)
	}
	if _, e, code := in.run(t, "stop"); code != 0 {
		t.Errorf("stop: %s", e)
	}
}

// A reload applies a new queue_minfree and message_size_limit to the
// free-space rule at MAIL, as it does to EHLO's SIZE: no restart needed.
func TestReloadAppliesTheFreeSpaceRule(t *testing.T) {
	const huge = "1000000000000000" // 1 PB: more than any test machine has free
	in := newInstance(t, "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8")
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	for _, step := range []struct{ main, size, mail string }{
		{"", "250 SIZE 10240000", "250 2.1.0 Ok"},
		{"queue_minfree = " + huge, "250 SIZE 10240000", "452 4.3.1 Insufficient system storage"},
		{"message_size_limit = 2000000", "250 SIZE 2000000", "250 2.1.0 Ok"},
		{"message_size_limit = " + huge, "250 SIZE " + huge, "452 4.3.1 Insufficient system storage"},
		{"", "250 SIZE 10240000", "250 2.1.0 Ok"},
	} {
		in.writeMain(t, "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\n"+step.main)
		if out, e, code := in.run(t, "reload"); code != 0 {
			t.Fatalf("reload with %q: exit %d %s%s", step.main, code, out, e)
		}
		size, mail := mailSize(t, addr, 1000)
		if size != step.size || mail != step.mail {
			t.Errorf("after reload with %q: EHLO %q, MAIL %q; want %q, %q", step.main, size, mail, step.size, step.mail)
		}
	}
	// The shortage is warned about once per episode, by smtpd, which
	// refused; each refused MAIL gets Postfix's reject line.
	log := in.maillog(t)
	if n := strings.Count(log, "postern/smtpd["); n == 0 {
		t.Fatalf("no smtpd lines:\n%s", log)
	}
	if n := strings.Count(log, "warning: not enough free space in mail queue"); n != 2 {
		t.Errorf("%d free-space warnings, want one per shortage (2):\n%s", n, grepLines(log, "space"))
	}
	if !strings.Contains(log, "postern/smtpd") || !strings.Contains(log, "NOQUEUE: reject: MAIL from localhost[127.0.0.1]: 452 4.3.1 Insufficient system storage; from=<a@example.test> proto=ESMTP helo=<client.example>") {
		t.Errorf("no reject line for the refused MAIL:\n%s", grepLines(log, "reject"))
	}
}

// mailSize opens a session, says EHLO and MAIL FROM with SIZE=size, and
// returns the EHLO reply's SIZE line and the MAIL reply.
func mailSize(t *testing.T, addr string, size int) (string, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	var sizeLine string
	read := func() string {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			line = strings.TrimRight(line, "\r\n")
			if strings.HasPrefix(line[min(4, len(line)):], "SIZE") {
				sizeLine = "250 " + line[4:]
			}
			if len(line) < 4 || line[3] != '-' {
				return line
			}
		}
	}
	read()
	fmt.Fprintf(c, "EHLO client.example\r\n")
	read()
	fmt.Fprintf(c, "MAIL FROM:<a@example.test> SIZE=%d\r\n", size)
	mail := read()
	fmt.Fprintf(c, "QUIT\r\n")
	return sizeLine, mail
}
