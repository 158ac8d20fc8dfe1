package main

import (
	"bufio"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SMTP AUTH through the real daemon with the built-in passwd-file
// backend (a user added by postern passwd): a client outside mynetworks
// relays once authenticated; wrong passwords are refused, slowed past
// smtpd_soft_error_limit and disconnected at smtpd_hard_error_limit;
// the maillog's warning is the line fail2ban's postfix filter matches,
// and holds no password.
func TestAuthRelayAndBruteForce(t *testing.T) {
	in := newInstance(t, "inet_interfaces = loopback-only\ninet_protocols = ipv4\nmynetworks = 127.0.0.2/32\n"+
		"smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\nsmtpd_sasl_path = users\nsmtpd_tls_auth_only = no\n"+
		"smtpd_soft_error_limit = 1\nsmtpd_hard_error_limit = 3\nsmtpd_error_sleep_time = 1s")
	if _, e, code := runPasswdBin(t, "s3cret-pw\n", "-c", in.dir, "alice@example.test"); code != 0 {
		t.Fatalf("postern passwd: exit %d %s", code, e)
	}
	in.start(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(in.port))
	session := func() (net.Conn, *bufio.Reader, func(line string) string) {
		c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(60 * time.Second))
		br := bufio.NewReader(c)
		if _, l, err := readReply(br); err != nil || !strings.HasPrefix(l, "220 ") {
			t.Fatalf("greeting %q %v", l, err)
		}
		return c, br, func(line string) string {
			t.Helper()
			c.Write([]byte(line + "\r\n"))
			_, l, err := readReply(br)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return l
		}
	}
	_, _, cmd := session()
	for _, x := range [][2]string{
		{"EHLO laptop.example", "250 "},
		{"MAIL FROM:<alice@example.test>", "250 "},
		{"RCPT TO:<friend@remote.example>", "454 4.7.1 <friend@remote.example>: Relay access denied"},
		{"RSET", "250 "},
		// \0alice@example.test\0s3cret-pw
		{"AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzM2NyZXQtcHc=", "235 2.7.0 Authentication successful"},
		{"MAIL FROM:<alice@example.test>", "250 "},
		{"RCPT TO:<friend@remote.example>", "250 2.1.5 Ok"},
		{"QUIT", "221 "},
	} {
		if got := cmd(x[0]); !strings.HasPrefix(got, x[1]) {
			t.Fatalf("%s: %q, want %q", x[0], got, x[1])
		}
	}

	_, br, cmd := session()
	wrong := "AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZy1wdw==" // \0alice@example.test\0wrong-pw
	if got := cmd(wrong); got != "535 5.7.8 Error: authentication failed: (reason unavailable)" {
		t.Fatalf("wrong password: %q", got)
	}
	start := time.Now()
	if got := cmd(wrong); !strings.HasPrefix(got, "535 5.7.8 ") {
		t.Fatalf("second wrong password: %q", got)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("the second failure came after %v, want at least smtpd_error_sleep_time (1s)", d)
	}
	if got := cmd(wrong); !strings.HasPrefix(got, "535 5.7.8 ") {
		t.Fatalf("third wrong password: %q", got)
	}
	if _, l, err := readReply(br); l != "421 4.7.0 mx.example.test Error: too many errors" {
		t.Fatalf("after the hard error limit: %q %v", l, err)
	}
	if _, err := br.ReadString('\n'); err == nil {
		t.Fatal("still connected after the hard error limit")
	}

	// fail2ban's mdre-auth after its "warning:" prefix (Go's regexp has
	// no lookahead: the skipped reasons are none of these).
	f2b := regexp.MustCompile(`(?m)postern/smtpd\[\d+\]: warning: [^[]*\[127\.0\.0\.1\]: SASL ((?i)LOGIN|PLAIN|(?:CRAM|DIGEST)-MD5) authentication failed: .*$`)
	var log string
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		log = in.maillog(t)
		if len(f2b.FindAllString(log, -1)) == 3 && strings.Contains(log, "too many errors after AUTH") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("maillog lacks three failure warnings for fail2ban:\n%s", log)
		}
	}
	for _, secret := range []string{"wrong-pw", "s3cret-pw", "AGFsaWNl"} {
		if strings.Contains(log, secret) {
			t.Errorf("maillog shows %q:\n%s", secret, log)
		}
	}
	if !strings.Contains(log, "client=localhost[127.0.0.1], sasl_method=PLAIN, sasl_username=alice@example.test") &&
		!strings.Contains(log, "client=unknown[127.0.0.1], sasl_method=PLAIN, sasl_username=alice@example.test") {
		t.Errorf("no client= line with the login:\n%s", log)
	}
}
