package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writeMaster replaces the instance's master.cf with one smtpd service
// on its port with the given maxproc column.
func (in *instance) writeMaster(t *testing.T, maxproc string) {
	t.Helper()
	line := fmt.Sprintf("%d inet n - n - %s smtpd\n", in.port, maxproc)
	if err := os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
}

// smtpConn is a raw client session for tests that hold sessions open.
type smtpConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialSMTP(t *testing.T, addr string) *smtpConn { return dialSMTPFrom(t, "127.0.0.1", addr) }

func dialSMTPFrom(t *testing.T, from, addr string) *smtpConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &smtpConn{t: t, c: c, br: bufio.NewReader(c)}
}

// expect reads the next reply (its last line) within 20 s.
func (s *smtpConn) expect(prefix string) {
	s.t.Helper()
	s.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, line, err := readReply(s.br)
	if err != nil || !strings.HasPrefix(line, prefix) {
		s.t.Fatalf("got %q (%v), want %q", line, err, prefix)
	}
}

// master.cf maxproc caps the sessions of a service: the third client of
// a service with maxproc 2 waits, not greeted, until a session ends;
// reaching the limit is logged once as Postfix's master logs it, and
// sessions begun at the limit run with stress = yes (here: one error
// ends them, smtpd_hard_error_limit = ${stress?{1}:{20}}).
func TestProcessLimitAndStress(t *testing.T) {
	in := newInstance(t, "smtpd_error_sleep_time = 0")
	in.writeMaster(t, "2")
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	c1 := dialSMTP(t, addr)
	c1.expect("220 ")
	c2 := dialSMTP(t, addr)
	c2.expect("220 ")
	warning := fmt.Sprintf(`postern/master[%d]: warning: service "%d" (%d) has reached its process limit "2": new clients may experience noticeable delays`,
		in.daemonPid(t), in.port, in.port)
	waitLog(t, in, warning)
	c3 := dialSMTP(t, addr) // the kernel completes the handshake: it waits in the backlog
	c3.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if line, err := c3.br.ReadString('\n'); err == nil {
		t.Fatalf("third client greeted at the limit: %q", line)
	}
	c1.c.Write([]byte("BOGUS\r\nNOOP\r\n")) // no stress: one error is not the end
	c1.expect("500 ")
	c1.expect("250 ")
	c2.c.Write([]byte("QUIT\r\n")) // took the last slot: stress, but QUIT is fine
	c2.expect("221 ")
	c3.expect("220 ")
	c3.c.Write([]byte("BOGUS\r\n"))
	c3.expect("500 ")
	c3.expect("421 4.7.0 mx.example.test Error: too many errors")
	c1.c.Write([]byte("QUIT\r\n"))
	c1.expect("221 ")
	// smtpd logs the line after its 421 reply: wait for it.
	waitLog(t, in, "too many errors after UNKNOWN from localhost[127.0.0.1]")
	if n := strings.Count(in.maillog(t), "has reached its process limit"); n != 1 {
		t.Errorf("the process limit was logged %d times, want once:\n%s", n, in.maillog(t))
	}
	for _, want := range []string{"warning: to avoid this condition, increase the process count in master.cf or reduce the service time per client",
		"too many errors after UNKNOWN from localhost[127.0.0.1]"} {
		if !strings.Contains(in.maillog(t), want) {
			t.Errorf("maillog lacks %q", want)
		}
	}
}

// A client over smtpd_client_connection_count_limit is refused and
// logged as Postfix logs it.
func TestConnectionCountLimitLogged(t *testing.T) {
	in := newInstance(t, "mynetworks = 127.0.0.1/32\nsmtpd_client_connection_count_limit = 1")
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	c1 := dialSMTPFrom(t, "127.0.0.2", addr)
	c1.expect("220 ")
	c2 := dialSMTPFrom(t, "127.0.0.2", addr)
	c2.expect("421 4.7.0 mx.example.test Error: too many connections from 127.0.0.2")
	waitLog(t, in, "postern/smtpd[")
	waitLog(t, in, "warning: Connection concurrency limit exceeded: 2 from unknown[127.0.0.2] for service "+fmt.Sprint(in.port))
}

// With few file descriptors (ulimit -n 128) a flood of connections that
// stay open does not make a legitimate client's message fail (it was
// "451 4.3.0 Error: queue file write error"): the daemon stops
// accepting at its descriptor budget, the flood waits in the listen
// backlog, and the log is not flooded with accept errors.
func TestFileDescriptorFlood(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	mail := t.TempDir()
	in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.1/32\nalias_maps =\nhome_mailbox =\n"+
		"mail_spool_directory = %s/\ndefault_process_limit = 2\nsmtpd_timeout = 1s\nsmtpd_client_connection_count_limit = 0", mail))
	in.writeMaster(t, "1000")
	cmd := exec.Command("sh", "-c", `ulimit -n 128 && exec "$0" start -c "$1"`, filepath.Join(binDir, "postern"), in.dir)
	cmd.Env = append(os.Environ(), "POSTERN_CONFIG_DIR=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	waitLog(t, in, "daemon started")
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	for i := 0; i < 200; i++ {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%50))}}
		c, err := d.Dial("tcp4", addr)
		if err != nil {
			t.Fatalf("flood connection %d: %v", i, err)
		}
		flood = append(flood, c)
	}
	began := time.Now()
	out := sendSMTP(addr, "app@client.example", u.Username+"@mx.example.test", numberedMessage(1, 200))
	if !out.Queued {
		t.Fatalf("legitimate message not queued during the flood: %+v", out)
	}
	t.Logf("queued after %v behind 200 idle connections (%s)", time.Since(began).Round(time.Millisecond),
		regexp.MustCompile(`RLIMIT_NOFILE 128, .*`).FindString(in.maillog(t)))
	if n := strings.Count(in.maillog(t), "accept on "); n > 2 {
		t.Errorf("%d accept error lines:\n%s", n, firstLines(in.maillog(t), 20))
	}
	if strings.Contains(in.maillog(t), "queue file write error") {
		t.Errorf("a queue file write failed:\n%s", in.maillog(t))
	}
}

// A reload that raises maxproc lets a waiting client in at once; the
// sessions under way keep their slots.
func TestProcessLimitReload(t *testing.T) {
	in := newInstance(t, "")
	in.writeMaster(t, "1")
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	c1 := dialSMTP(t, addr)
	c1.expect("220 ")
	c2 := dialSMTP(t, addr)
	c2.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if line, err := c2.br.ReadString('\n'); err == nil {
		t.Fatalf("second client greeted with maxproc 1: %q", line)
	}
	in.writeMaster(t, "2")
	if out, e, code := in.run(t, "reload"); code != 0 {
		t.Fatalf("reload: exit %d %s%s", code, out, e)
	}
	c2.expect("220 ")
	c1.c.Write([]byte("QUIT\r\n"))
	c1.expect("221 ")
}
