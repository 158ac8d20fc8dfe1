package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startScreened starts postern with one postscreen service in front of
// `smtpd pass` with maxproc pass; 127.0.0.2 is allowlisted (mynetworks),
// other clients wait out a long greet wait.
func startScreened(t *testing.T, pass int, extra string) *instance {
	t.Helper()
	in := newInstance(t, "myhostname = mx.example.test\nmydomain = example.test\nmydestination = mx.example.test\n"+
		"inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.2/32\nsmtpd_banner = $myhostname ESMTP\n"+
		"postscreen_greet_wait = 60s\n"+extra)
	master := fmt.Sprintf("127.0.0.1:%d inet n - n - 1 postscreen\nsmtpd pass - - n - %d smtpd\n", in.port, pass)
	if err := os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	in.start(t)
	return in
}

// dialFirstLine connects from the source address and sends the first
// line the server writes (or the error) on out.
func dialFirstLine(t *testing.T, from string, port int, out chan<- string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second)) // a failure guard only
	go func() {
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			line = "error: " + err.Error()
		}
		out <- line
	}()
	return c
}

// Clients sitting in postscreen's greet wait do not hold the slots of
// smtpd: with `smtpd pass` maxproc 2 and two bots waiting, an
// allowlisted client still gets smtpd's greeting at once (review16
// finding 1: postscreen took the pass service's slot at accept).
func TestPostscreenBotsDoNotHoldSMTPDSlots(t *testing.T) {
	in := startScreened(t, 2, "")
	holdSession(t, "127.0.0.3", in.port)
	holdSession(t, "127.0.0.3", in.port)
	got := make(chan string, 1)
	dialFirstLine(t, "127.0.0.2", in.port, got)
	if line := <-got; line != "220 mx.example.test ESMTP\r\n" {
		t.Fatalf("allowlisted client behind two bots in the greet wait: %q, want smtpd's greeting", line)
	}
}

// A client that passed waits for a slot of smtpd (the post queue); with
// postscreen_post_queue_limit clients waiting, the next one gets
// Postfix's 421 and log line; a slot that frees goes to a waiting one.
func TestPostscreenPostQueueLimit(t *testing.T) {
	in := startScreened(t, 1, "postscreen_post_queue_limit = 5\n")
	first := make(chan string, 1)
	c1 := dialFirstLine(t, "127.0.0.2", in.port, first)
	if line := <-first; line != "220 mx.example.test ESMTP\r\n" {
		t.Fatalf("first client: %q", line)
	}
	type reply struct {
		i    int
		line string
	}
	replies := make(chan reply, 32)
	rejected := -1
	for i := 2; i <= 20 && rejected < 0; i++ {
		one := make(chan string, 1)
		dialFirstLine(t, "127.0.0.2", in.port, one)
		go func(i int) { replies <- reply{i, <-one} }(i)
		// Each later client is connected once the earlier ones
		// queued or were answered: wait for the answer of this one
		// only when it is the 421 (nothing else comes before a slot
		// frees).
		select {
		case r := <-replies:
			if r.line != "421 4.3.2 All server ports are busy\r\n" {
				t.Fatalf("client %d: %q, want 421 (the smtpd slot is taken)", r.i, r.line)
			}
			rejected = r.i
		default:
		}
	}
	if rejected < 0 {
		r := <-replies
		if r.line != "421 4.3.2 All server ports are busy\r\n" {
			t.Fatalf("client %d: %q, want 421", r.i, r.line)
		}
		rejected = r.i
	}
	waitLog(t, in, "all server ports busy")
	// Sessions start in any order: count in the log the clients that
	// passed before the first one refused (the one in smtpd too).
	log := in.maillog(t)
	before, _, _ := strings.Cut(log, "all server ports busy")
	if n := strings.Count(before, "ALLOWLISTED [127.0.0.2]:"); n < 6 {
		t.Fatalf("421 with %d clients passed, want 1 in smtpd and 5 waiting:\n%s", n, log)
	}
	if !strings.Contains(log, "postern/postscreen") || !strings.Contains(before, "NOQUEUE: reject: CONNECT from [127.0.0.2]:") {
		t.Fatalf("log line: %s", log)
	}
	t.Logf("client %d of the dialled ones got 421", rejected)
	c1.Close()
	for {
		r := <-replies
		if r.line == "220 mx.example.test ESMTP\r\n" {
			break // a waiting client got the freed slot
		}
		if r.line != "421 4.3.2 All server ports are busy\r\n" {
			t.Fatalf("client %d after the slot freed: %q", r.i, r.line)
		}
	}
}

// Clients sitting in postscreen's greet wait are not busy sessions
// (review 19 M3): with few descriptors (ulimit -n 96, a busy cap of a
// few), more bots in the greet wait than the cap do not stall an
// admitted client's commands.
func TestPostscreenGreetWaitNotBusy(t *testing.T) {
	in := newInstance(t, "myhostname = mx.example.test\nmydomain = example.test\nmydestination = mx.example.test\n"+
		"inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.2/32\nsmtpd_banner = $myhostname ESMTP\n"+
		"postscreen_greet_wait = 60s\ndefault_process_limit = 2\npostscreen_pre_queue_limit = 50\npostscreen_post_queue_limit = 50\n")
	master := fmt.Sprintf("127.0.0.1:%d inet n - n - 1 postscreen\nsmtpd pass - - n - 50 smtpd\n", in.port)
	if err := os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `ulimit -n 96 && exec "$0" start -c "$1"`, filepath.Join(binDir, "postern"), in.dir)
	cmd.Env = append(os.Environ(), "POSTERN_CONFIG_DIR=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	waitLog(t, in, "daemon started")
	m := regexp.MustCompile(`(\d+) sessions, (\d+) of them busy at once`).FindStringSubmatch(in.maillog(t))
	if m == nil {
		t.Fatalf("no budget line:\n%s", in.maillog(t))
	}
	sessions, _ := strconv.Atoi(m[1])
	busy, _ := strconv.Atoi(m[2])
	if busy+2 > sessions || busy > 10 {
		t.Fatalf("budget %s: want a small busy cap below the session cap", m[0])
	}
	for i := 0; i <= busy; i++ {
		holdSession(t, "127.0.0.3", in.port)
	}
	got := make(chan string, 1)
	c := dialFirstLine(t, "127.0.0.2", in.port, got)
	if line := <-got; line != "220 mx.example.test ESMTP\r\n" {
		t.Fatalf("allowlisted client behind %d bots in the greet wait (busy cap %d): %q", busy+1, busy, line)
	}
	fmt.Fprintf(c, "NOOP\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "250 2.0.0 Ok\r\n" {
		t.Fatalf("NOOP: %q (%v)", line, err)
	}
}
