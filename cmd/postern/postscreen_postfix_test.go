package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The same postscreen scenarios against Debian's Postfix 3.7 postscreen
// and postern's, with the same main.cf settings: the greet banner, a
// pregreeting client with postscreen_greet_action drop and enforce (and
// the enforce engine's replies to EHLO, MAIL, RCPT, DATA, QUIT), a
// denylisted client with postscreen_denylist_action drop and enforce.
// Replies must be the same bytes; postscreen's log lines of each client
// the same after ports and times are normalised. (No DNSBL here:
// Postfix's dnsblog asks the system resolver, which cannot be pointed at
// a private DNS server on a port of its own.)
func TestPostscreenLikePostfix(t *testing.T) {
	needPostfix(t)
	shared := t.TempDir()
	cidr := filepath.Join(shared, "ps_access.cidr")
	if err := os.WriteFile(cidr, []byte("127.0.0.13/32 reject\n127.0.0.14/32 reject\n127.0.0.15/32 reject\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, 0o755)
	common := "myhostname = mx.example.test\nmydomain = example.test\nmydestination = mx.example.test\n" +
		"inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.1/32\nsmtpd_banner = $myhostname ESMTP\n" +
		"postscreen_greet_wait = 2s\npostscreen_access_list = permit_mynetworks, cidr:" + cidr + "\n"
	// Two postscreen services: A drops, B enforces.
	const dropOpts = "-o postscreen_greet_action=drop -o postscreen_denylist_action=drop"
	const enforceOpts = "-o postscreen_greet_action=enforce -o postscreen_denylist_action=enforce"
	pfA, pfB := freePort(t), freePort(t)
	pf := startPostfixFront(t, common, pfA, fmt.Sprintf("127.0.0.1:%d inet n - n - 1 postscreen %s\n", pfA, dropOpts)+
		fmt.Sprintf("127.0.0.1:%d inet n - n - 1 postscreen %s -o postscreen_cache_map=btree:$data_directory/psc_b\n", pfB, enforceOpts)+
		"smtpd pass - - n - - smtpd\ndnsblog unix - - n - 0 dnsblog\ntlsproxy unix - - n - 0 tlsproxy\n")

	pt := newInstance(t, common)
	ptA, ptB := pt.port, freePort(t)
	master := fmt.Sprintf("127.0.0.1:%d inet n - n - 1 postscreen %s\n127.0.0.1:%d inet n - n - 1 postscreen %s\nsmtpd pass - - n - - smtpd\n",
		ptA, dropOpts, ptB, enforceOpts)
	if err := os.WriteFile(filepath.Join(pt.dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	pt.start(t)

	// After a pregreet, the engine answers what the client said early.
	pregreetSession := []string{"<line", "EHLO foo", "<", "EHLO client.example", "<", "MAIL FROM:<a@client.example>", "<",
		"RCPT TO:<postmaster@mx.example.test>", "<", "EHLO again.example", "<", "RCPT TO:<b@mx.example.test>", "<", "QUIT", "<", "<EOF"}
	denySession := []string{"<", "EHLO client.example", "<", "MAIL FROM:<a@client.example>", "<",
		"RCPT TO:<postmaster@mx.example.test>", "<", "RSET", "<", "NOOP", "<", "XYZZY", "<", "HELO client.example", "<",
		"RCPT TO:<b@mx.example.test>", "<", "MAIL FROM:<b@client.example> SIZE=100", "<", "RCPT TO:<c@mx.example.test> NOTIFY=NEVER", "<",
		"DATA", "<", "<EOF"}
	outOfOrder := []string{"<", "MAIL FROM:<a@client.example>", "<", "RCPT TO:<a@mx.example.test>", "<",
		"HELO client.example", "<", "MAIL FROM:<a@client.example>", "<", "MAIL FROM:<b@client.example>", "<",
		"RCPT TO:<postmaster@mx.example.test>", "<", "QUIT", "<", "<EOF"}
	for _, sc := range []struct {
		name, from string
		enforce    bool
		steps      []string
		last       string // the client's last postscreen log line
	}{
		{"clean client: greet banner, then smtpd", "127.0.0.10", false, []string{"<", "QUIT", "<"}, "PASS NEW "},
		{"pregreet, drop", "127.0.0.11", false, []string{"<line", "EHLO foo", "<EOF"}, "DISCONNECT "},
		{"pregreet, enforce", "127.0.0.12", true, pregreetSession, "DISCONNECT "},
		{"denylisted, drop", "127.0.0.13", false, []string{"<EOF"}, "DISCONNECT "},
		{"denylisted, enforce", "127.0.0.14", true, denySession, "DISCONNECT "},
		{"denylisted, enforce, out of order", "127.0.0.15", true, outOfOrder, "DISCONNECT "},
	} {
		pfPort, ptPort := pfA, ptA
		if sc.enforce {
			pfPort, ptPort = pfB, ptB
		}
		want := screenTranscript(t, sc.from, pfPort, sc.steps)
		got := screenTranscript(t, sc.from, ptPort, sc.steps)
		if got != want {
			t.Errorf("%s: replies differ:\npostern:\n%s\nPostfix:\n%s", sc.name, got, want)
		}
		wantLog := screenLog(t, pf.maillog, sc.from, sc.last)
		gotLog := screenLog(t, func() string { return pt.maillog(t) }, sc.from, sc.last)
		if gotLog != wantLog {
			t.Errorf("%s: log lines differ:\npostern:\n%s\nPostfix:\n%s", sc.name, gotLog, wantLog)
		}
		t.Logf("%s:\n%s%s", sc.name, want, wantLog)
	}
}

// screenTranscript runs steps from the source address: "<line" reads a
// line, "<" a whole reply, "<EOF" everything until the server closes;
// anything else is sent with CRLF. It returns what was read, a marker
// for each step.
func screenTranscript(t *testing.T, from string, port int, steps []string) string {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	var out strings.Builder
	for _, s := range steps {
		c.SetDeadline(time.Now().Add(20 * time.Second))
		switch s {
		case "<line":
			line, err := br.ReadString('\n')
			fmt.Fprintf(&out, "S: %q%s\n", line, errNote(err))
		case "<":
			for {
				line, err := br.ReadString('\n')
				fmt.Fprintf(&out, "S: %q%s\n", line, errNote(err))
				if err != nil || len(line) < 4 || line[3] != '-' {
					break
				}
			}
		case "<EOF":
			rest, err := io.ReadAll(br)
			if errors.Is(err, syscall.ECONNRESET) {
				err = nil // Postfix resets when the client's input is unread
			}
			fmt.Fprintf(&out, "S: %q (closed)%s\n", rest, errNote(err))
		default:
			fmt.Fprintf(c, "%s\r\n", s)
			fmt.Fprintf(&out, "C: %s\n", s)
		}
	}
	return out.String()
}

func errNote(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, os.ErrDeadlineExceeded):
		return " (timeout)"
	}
	return " (" + err.Error() + ")"
}

// screenLog waits until log shows the postscreen line beginning with
// last for the client at from and returns the client's postscreen lines,
// without the syslog prefix, with ports replaced and times ("after
// 0.01") made T: their length depends on how long the step took (0,
// 0.01, 0.5), so comparing their digits' shape failed on a busy machine.
func screenLog(t *testing.T, log func() string, from, last string) string {
	t.Helper()
	tag := "[" + from + "]"
	port := regexp.MustCompile(`\]:\d+`)
	after := regexp.MustCompile(`after \d+(\.\d+)?`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out strings.Builder
		done := false
		for _, l := range strings.Split(log(), "\n") {
			_, msg, ok := strings.Cut(l, "postscreen[")
			if !ok || !strings.Contains(l, tag) {
				continue
			}
			_, msg, _ = strings.Cut(msg, "]: ")
			msg = after.ReplaceAllString(port.ReplaceAllString(msg, "]:PORT"), "after T")
			out.WriteString(msg + "\n")
			if strings.HasPrefix(msg, last+tag) {
				done = true
			}
		}
		if done || time.Now().After(deadline) {
			return out.String()
		}
		time.Sleep(20 * time.Millisecond)
	}
}
