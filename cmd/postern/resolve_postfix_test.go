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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/testperm"
)

// The same SMTP sessions against a private Postfix instance and against
// postern, with the same main.cf settings: every RCPT gets the same
// decision and reply text, and the recipients queued for the relayhost are
// logged with the same to= and orig_to=. Replies are compared after the
// address they echo: Postfix echoes its unquoted internal form, postern the
// SMTP form (README, "differs").
func TestResolveLikePostfix(t *testing.T) {
	needPostfix(t)
	relay := freePort(t) // nothing listens: relayed mail is deferred
	common := fmt.Sprintf("myhostname = mx.example.test\nmydomain = example.test\nmydestination = mx.example.test, localhost\n"+
		"inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.1/32\nrelayhost = [127.0.0.1]:%d\n"+
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n", relay)
	pf := startPostfix(t, common+"local_recipient_maps = unix:passwd.byname\nalias_maps =\n")
	pt, _ := mailInstance(t, common)

	stranger := []string{"MAIL FROM:<bob>", "RCPT TO:<nosuchuser>", `RCPT TO:<"a b">`, "RCPT TO:<root>",
		"RCPT TO:<postmaster>", "RCPT TO:<nosuchuser@mx.example.test>", `RCPT TO:<"user@remote.example">`,
		"RCPT TO:<user%remote.example@mx.example.test>", "RCPT TO:<user@remote.example>", "RSET"}
	trusted := []string{"MAIL FROM:<bob>", `RCPT TO:<"user@remote.example">`, "RCPT TO:<user%remote.example@mx.example.test>",
		"RCPT TO:<remote.example!other@localhost>", `RCPT TO:<"a b"@remote.example>`, "RCPT TO:<plain@remote.example>", "DATA"}
	for _, s := range []struct {
		from  string
		lines []string
	}{{"127.0.0.2", stranger}, {"127.0.0.1", trusted}} {
		want := smtpSession(t, s.from, pf.port, s.lines)
		got := smtpSession(t, s.from, pt.port, s.lines)
		for i := range s.lines {
			if normalReply(got[i]) != normalReply(want[i]) {
				t.Errorf("%s from %s: postern %q, Postfix %q", s.lines[i], s.from, got[i], want[i])
			}
		}
	}
	deferred := func(log func() string) []string {
		re := regexp.MustCompile(`: (to=<[^>]*>(?:, orig_to=<[^>]*>)?), relay=none, .*status=deferred`)
		deadline := time.Now().Add(20 * time.Second)
		for {
			var out []string
			for _, m := range re.FindAllStringSubmatch(log(), -1) {
				out = append(out, m[1])
			}
			if len(out) >= 5 || time.Now().After(deadline) {
				slices.Sort(out)
				return out
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	want := deferred(pf.maillog)
	got := deferred(func() string { return pt.maillog(t) })
	if len(want) != 5 || !slices.Equal(got, want) {
		t.Errorf("deferred recipients:\npostern %q\nPostfix %q", got, want)
	}
	for _, l := range []func() string{pf.maillog, func() string { return pt.maillog(t) }} {
		if !strings.Contains(l(), "from=<bob@mx.example.test>, size=") {
			t.Errorf("the sender is not bob@mx.example.test:\n%s", l())
		}
	}
}

// normalReply replaces the address a reply echoes, which Postfix prints
// unquoted, and drops the queue ID.
func normalReply(r string) string {
	if i := strings.Index(r, "queued as "); i >= 0 {
		return r[:i] // queue IDs differ
	}
	if i := strings.Index(r, " <"); i >= 0 {
		if j := strings.Index(r[i:], ">: "); j >= 0 {
			return r[:i] + " <...>" + r[i+j+1:]
		}
	}
	return r
}

// smtpSession says EHLO from the source address, sends each line (with a
// message after a 354) and returns each line's final reply.
func smtpSession(t *testing.T, from string, port int, lines []string) []string {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	reply := func() string {
		_, line, err := readReply(br)
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		return line
	}
	reply()
	fmt.Fprintf(c, "EHLO client.example.test\r\n")
	reply()
	var out []string
	for _, l := range lines {
		fmt.Fprintf(c, "%s\r\n", l)
		r := reply()
		if strings.HasPrefix(r, "354") {
			fmt.Fprintf(c, "Subject: differential\r\n\r\nhello\r\n.\r\n")
			r = reply()
		}
		out = append(out, r)
	}
	fmt.Fprintf(c, "QUIT\r\n")
	reply()
	return out
}

// postfixInstance is a private Postfix: its own configuration, queue and
// log under a temp directory, listening on a loopback port.
type postfixInstance struct {
	dir  string
	port int
}

func (p *postfixInstance) maillog() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "maillog"))
	return string(b)
}

// startPostfix starts Debian's Postfix with mainCf on a free port, stops
// it when the test ends, and returns once it accepts connections.
func startPostfix(t *testing.T, mainCf string) *postfixInstance {
	t.Helper()
	port := freePort(t)
	return startPostfixFront(t, mainCf, port, fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd\n", port))
}

// startPostfixFront is startPostfix with front as the master.cf lines of
// the services that listen (port is the one it waits for), before the
// internal services.
func startPostfixFront(t *testing.T, mainCf string, port int, front string) *postfixInstance {
	t.Helper()
	p := &postfixInstance{dir: t.TempDir(), port: port}
	etc, data := filepath.Join(p.dir, "etc"), filepath.Join(p.dir, "data")
	for _, d := range []string{etc, data, filepath.Join(p.dir, "queue")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	testperm.OpenDirs(p.dir)
	pf, _ := user.Lookup("postfix")
	var uid int
	fmt.Sscan(pf.Uid, &uid)
	if err := os.Chown(data, uid, -1); err != nil {
		t.Fatal(err)
	}
	main := fmt.Sprintf("compatibility_level = 3.6\nqueue_directory = %s/queue\ndata_directory = %s\n"+
		"maillog_file = %s/maillog\nmaillog_file_prefixes = %s\ninet_protocols = ipv4\n"+
		"smtpd_peername_lookup = no\nmail_spool_directory = %s/mail\n%s", p.dir, data, p.dir, p.dir, p.dir, mainCf)
	master := front +
		"pickup unix n - n 60 1 pickup\ncleanup unix n - n - 0 cleanup\nqmgr unix n - n 300 1 qmgr\n" +
		"rewrite unix - - n - - trivial-rewrite\nbounce unix - - n - 0 bounce\ndefer unix - - n - 0 bounce\n" +
		"trace unix - - n - 0 bounce\nverify unix - - n - 1 verify\nflush unix n - n 1000? 0 flush\n" +
		"proxymap unix - - n - - proxymap\nsmtp unix - - n - - smtp\nrelay unix - - n - - smtp\n" +
		"showq unix n - n - - showq\nerror unix - - n - - error\nretry unix - - n - - error\n" +
		"discard unix - - n - - discard\nlocal unix - n n - - local\nanvil unix - - n - 1 anvil\n" +
		"scache unix - - n - 1 scache\npostlog unix-dgram n - n - 1 postlogd\n"
	for name, text := range map[string]string{"main.cf": main, "master.cf": master} {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("postfix", "-c", etc, "start").CombinedOutput(); err != nil {
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, p.maillog())
	}
	t.Cleanup(func() { exec.Command("postfix", "-c", etc, "stop").Run() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", p.port))
		if err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix does not listen on %d: %v\n%s", p.port, err, p.maillog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// needPostfix skips t unless a private Postfix can be started here:
// root, Debian's postfix installed and its postfix user.
func needPostfix(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("starting a private Postfix needs root")
	}
	if _, err := exec.LookPath("postfix"); err != nil {
		t.Skip("postfix is not installed: run scripts/install-test-deps")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("no postfix user")
	}
}
