package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dovecottest"
	"github.com/postern-mta/postern/internal/mastercf"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// submissionUsers: one user per password scheme postern and Dovecot
// share; the test makes each hash with doveadm pw or postern passwd.
type submissionUser struct{ name, scheme, password string }

var submissionUsers = []submissionUser{
	{"alice@example.test", "SHA512-CRYPT", "alice-pw 1"},
	{"bob@example.test", "ARGON2ID", "b0b:pw"},
	{"carol@example.test", "BLF-CRYPT", "carol@pw"},
}

// submissionServer is a daemon set up as the README's "Public server:
// STARTTLS and submission": the bundled master.cf with its submission
// and submissions entries uncommented, their ports remapped to free
// loopback ports.
type submissionServer struct {
	in              *instance
	smtp, sub, subs string // host:port of smtp (25), submission (587), submissions (465)
}

// startSubmission writes that configuration with the AUTH lines of
// main.cf given in sasl, and starts the daemon. The test client on
// 127.0.0.1 is outside mynetworks; relayed mail goes to a relayhost
// that refuses connections, so it stays in the queue, deferred.
// Submission (587) adds reject_sender_login_mismatch through
// $mua_sender_restrictions, as the stock entry's comment suggests.
func startSubmission(t *testing.T, in *instance, sasl string) *submissionServer {
	t.Helper()
	p25, p587, p465 := in.port, freePort(t), freePort(t)
	senders := filepath.Join(in.dir, "senders")
	var owners strings.Builder
	for _, u := range submissionUsers {
		fmt.Fprintf(&owners, "%s %s\n", u.name, u.name)
	}
	if err := os.WriteFile(senders, []byte(owners.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, e, code := runBin(t, "postmap", "hash:"+senders); code != 0 {
		t.Fatalf("postmap: exit %d %s", code, e)
	}
	in.writeMain(t, smtptest.TLSConf(t, in.dir)+fmt.Sprintf("inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"+
		"mynetworks = 127.0.0.2/32\nalias_maps =\nrelayhost = [127.0.0.1]:%d\nsmtpd_tls_security_level = may\n"+
		"smtpd_sender_login_maps = hash:%s\nmua_sender_restrictions = reject_sender_login_mismatch\n%s",
		freePort(t), senders, sasl))

	master := mastercf.UncommentSubmission(mastercf.Default())
	for _, r := range [][2]string{
		{"\nsmtp      inet ", fmt.Sprintf("\n%d      inet ", p25)},
		{"\nsubmission inet ", fmt.Sprintf("\n%d inet ", p587)},
		{"\nsubmissions     inet ", fmt.Sprintf("\n%d     inet ", p465)},
		// The first one: submission's.
		{"\n  -o smtpd_sender_restrictions=\n", "\n  -o smtpd_sender_restrictions=$mua_sender_restrictions\n"},
	} {
		if !strings.Contains(master, r[0]) {
			t.Fatalf("the bundled master.cf lacks %q", r[0])
		}
		master = strings.Replace(master, r[0], r[1], 1)
	}
	if err := os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	// The README's setup draws no warning from postern check (the
	// test's own directories and short-lived certificate aside).
	out, e, code := in.run(t, "check")
	if code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out, e)
	}
	for _, l := range strings.Split(out+e, "\n") {
		if strings.Contains(l, "warning:") && !strings.Contains(l, "does not exist yet; postern start creates it") &&
			!strings.Contains(l, "parameter smtpd_tls_cert_file: the certificate for mx.example.test expires in ") {
			t.Errorf("check: %s", l)
		}
	}
	in.start(t)
	hp := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	return &submissionServer{in: in, smtp: hp(p25), sub: hp(p587), subs: hp(p465)}
}

// TestSubmission: the README's public server end to end through the
// real daemon, with AUTH by a real Dovecot (its passwd-file hashes made
// by doveadm pw in the three schemes), then by postern's own
// passwd-file (users added by postern passwd).
func TestSubmission(t *testing.T) {
	swaks := needTool(t, "swaks")
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("/usr/bin/python3 is not installed (scripts/install-test-deps)")
	}
	t.Run("dovecot", func(t *testing.T) {
		var users strings.Builder
		for _, u := range submissionUsers {
			fmt.Fprintf(&users, "%s:%s\n", u.name, dovecottest.Hash(t, u.scheme, u.password))
		}
		d := dovecottest.Start(t, users.String())
		in := newInstance(t, "")
		// The README's smtpd_sasl_path = private/auth: relative to
		// queue_directory, where Debian's Dovecot puts its socket for
		// Postfix (here a link to the test Dovecot's socket).
		private := filepath.Join(in.dir, "queue", "private")
		if err := os.MkdirAll(private, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(d.Socket, filepath.Join(private, "auth")); err != nil {
			t.Fatal(err)
		}
		s := startSubmission(t, in, "smtpd_sasl_type = dovecot\nsmtpd_sasl_path = private/auth\n")
		s.check(t, swaks)
	})
	t.Run("passwd-file", func(t *testing.T) {
		in := newInstance(t, "")
		users := filepath.Join(in.dir, "users")
		for _, u := range submissionUsers {
			if _, e, code := runPasswdBin(t, u.password+"\n", "-f", users, "-s", u.scheme, u.name); code != 0 {
				t.Fatalf("postern passwd %s: exit %d %s", u.name, code, e)
			}
		}
		s := startSubmission(t, in, "smtpd_sasl_type = passwd-file\nsmtpd_sasl_path = "+users+"\n")
		s.check(t, swaks)
	})
}

// check runs the clients against one server.
func (s *submissionServer) check(t *testing.T, swaks string) {
	alice, bob, carol := submissionUsers[0], submissionUsers[1], submissionUsers[2]
	start := time.Now()
	runSwaks := func(t *testing.T, addr, tlsFlag, mech string, u submissionUser, to string) string {
		t.Helper()
		out, err := exec.Command(swaks, "--server", addr, tlsFlag, "--ehlo", "laptop.example",
			"--auth", mech, "--auth-user", u.name, "--auth-password", u.password,
			"--from", u.name, "--to", to, "--header", "Subject: "+to, "--timeout", "60").CombinedOutput()
		if err != nil {
			return fmt.Sprintf("exit %v\n%s", err, out)
		}
		return string(out)
	}
	relayed := func(t *testing.T, out, to string) {
		t.Helper()
		if !strings.Contains(out, "<~  235 2.7.0 Authentication successful") || !strings.Contains(out, "<~  250 2.0.0 Ok: queued as ") {
			t.Fatalf("no authenticated relay to %s:\n%s", to, out)
		}
	}
	t.Run("swaks 587 PLAIN", func(t *testing.T) {
		relayed(t, runSwaks(t, s.sub, "--tls", "PLAIN", alice, "swaks-plain@remote.example"), "swaks-plain@remote.example")
	})
	t.Run("swaks 587 LOGIN", func(t *testing.T) {
		relayed(t, runSwaks(t, s.sub, "--tls", "LOGIN", bob, "swaks-login@remote.example"), "swaks-login@remote.example")
	})
	t.Run("swaks 465", func(t *testing.T) {
		relayed(t, runSwaks(t, s.subs, "--tlsc", "PLAIN", carol, "swaks-465@remote.example"), "swaks-465@remote.example")
	})
	t.Run("python smtplib", func(t *testing.T) {
		py := `import smtplib, ssl, sys
host, p587, p465, u1, pw1, u2, pw2 = sys.argv[1:]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, int(p587), local_hostname="laptop.example", timeout=60)
s.starttls(context=ctx)
s.login(u1, pw1)
s.sendmail(u1, ["py-587@remote.example"], "Subject: py-587\r\n\r\nhello\r\n")
s.quit()
s = smtplib.SMTP_SSL(host, int(p465), local_hostname="laptop.example", context=ctx, timeout=60)
s.login(u2, pw2)
s.sendmail(u2, ["py-465@remote.example"], "Subject: py-465\r\n\r\nhello\r\n")
s.quit()
`
		host, p587, _ := net.SplitHostPort(s.sub)
		_, p465, _ := net.SplitHostPort(s.subs)
		if out, err := exec.Command("/usr/bin/python3", "-c", py, host, p587, p465, carol.name, carol.password, bob.name, bob.password).CombinedOutput(); err != nil {
			t.Fatalf("python smtplib: %v\n%s", err, out)
		}
	})
	// Each message waits in the queue for the relayhost, received by
	// the service it was sent to, from the user who logged in.
	t.Run("queued for relay", func(t *testing.T) {
		for _, x := range []struct{ rcpt, service, method, user string }{
			{"swaks-plain", "submission", "PLAIN", alice.name},
			{"swaks-login", "submission", "LOGIN", bob.name},
			{"swaks-465", "submissions", "PLAIN", carol.name},
			{"py-587", "submission", "PLAIN", carol.name},
			{"py-465", "submissions", "PLAIN", bob.name},
		} {
			to := "to=<" + x.rcpt + "@remote.example>, relay=none, "
			waitLog(t, s.in, to)
			log := s.in.maillog(t)
			m := regexp.MustCompile(`(?m): (\w+): ` + regexp.QuoteMeta(to) + `.*, status=deferred \(`).FindStringSubmatch(log)
			if m == nil {
				t.Errorf("%s: not deferred:\n%s", x.rcpt, log)
				continue
			}
			received := regexp.MustCompile(`(?m)postern/` + x.service + `/smtpd\[\d+\]: ` + m[1] + `: client=[^,]*\[127\.0\.0\.1\], sasl_method=` +
				x.method + `, sasl_username=` + regexp.QuoteMeta(x.user) + `$`)
			if !received.MatchString(log) || !strings.Contains(log, m[1]+": from=<"+x.user+">, ") {
				t.Errorf("%s (%s): not received by %s from %s with %s:\n%s", x.rcpt, m[1], x.service, x.user, x.method, log)
			}
		}
	})
	t.Run("587 unauthenticated", func(t *testing.T) {
		c := dialSubmission(t, s.sub)
		if ok, _ := c.Extension("AUTH"); ok {
			t.Error("AUTH offered before STARTTLS")
		}
		if err := c.Mail("alice@example.test"); !replyIs(err, 530, "5.7.0 Must issue a STARTTLS command first") {
			t.Errorf("MAIL before STARTTLS: %v", err)
		}
		c.Reset()
		startTLS(t, c)
		if ok, mechs := c.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
			t.Errorf("AUTH after STARTTLS: %v %q", ok, mechs)
		}
		// A sender the login map does not list: the recipient
		// restriction (permit_sasl_authenticated, reject) refuses.
		if err := c.Mail("stranger@elsewhere.example"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("friend@remote.example"); !replyIs(err, 554, "5.7.1 <friend@remote.example>: Recipient address rejected: Access denied") {
			t.Errorf("unauthenticated relay: %v", err)
		}
		c.Reset()
		// A listed sender without a login: reject_sender_login_mismatch.
		if err := c.Mail(alice.name); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("friend@remote.example"); !replyIs(err, 553, "5.7.1 <"+alice.name+">: Sender address rejected: not logged in") {
			t.Errorf("unauthenticated relay, a listed sender: %v", err)
		}
		c.Quit()
	})
	t.Run("465 unauthenticated", func(t *testing.T) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp4", s.subs, &tls.Config{ServerName: "mx.example.test", InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		c, err := smtp.NewClient(conn, "mx.example.test")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("laptop.example"); err != nil {
			t.Fatal(err)
		}
		if ok, mechs := c.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
			t.Errorf("AUTH on 465: %v %q", ok, mechs)
		}
		if ok, _ := c.Extension("STARTTLS"); ok {
			t.Error("STARTTLS offered inside TLS")
		}
		if err := c.Mail(alice.name); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("friend@remote.example"); !replyIs(err, 554, "5.7.1 <friend@remote.example>: Recipient address rejected: Access denied") {
			t.Errorf("unauthenticated relay on 465: %v", err)
		}
		c.Quit()
	})
	t.Run("25 STARTTLS without AUTH", func(t *testing.T) {
		c := dialSubmission(t, s.smtp)
		if ok, _ := c.Extension("STARTTLS"); !ok {
			t.Error("port 25 offers no STARTTLS")
		}
		startTLS(t, c)
		if ok, _ := c.Extension("AUTH"); ok {
			t.Error("port 25 offers AUTH")
		}
		if err := c.Mail("alice@example.test"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("friend@remote.example"); !replyIs(err, 454, "4.7.1 <friend@remote.example>: Relay access denied") {
			t.Errorf("relay on 25: %v", err)
		}
		c.Quit()
	})
	t.Run("sender login mismatch", func(t *testing.T) {
		c := dialSubmission(t, s.sub)
		startTLS(t, c)
		if err := c.Auth(smtp.PlainAuth("", alice.name, alice.password, "mx.example.test")); err != nil {
			t.Fatal(err)
		}
		if err := c.Mail(bob.name); err != nil {
			t.Fatal(err)
		}
		want := "5.7.1 <" + bob.name + ">: Sender address rejected: not owned by user " + alice.name
		if err := c.Rcpt("friend@remote.example"); !replyIs(err, 553, want) {
			t.Errorf("another user's sender: %v, want 553 %s", err, want)
		}
		c.Reset()
		if err := c.Mail(alice.name); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("friend@remote.example"); err != nil {
			t.Errorf("own sender: %v", err)
		}
		c.Quit()
	})
	// CVE-2011-0411 through the daemon: commands sent behind STARTTLS
	// in the same write are neither answered nor run.
	t.Run("587 STARTTLS injection", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp4", s.sub, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		br := bufio.NewReader(conn)
		cmd := func(line, want string) {
			t.Helper()
			if line != "" {
				io.WriteString(conn, line)
			}
			if _, last, err := readReply(br); err != nil || !strings.HasPrefix(last, want) {
				t.Fatalf("%q: %q %v, want %q", line, last, err, want)
			}
		}
		cmd("", "220 ")
		cmd("EHLO inject.example\r\n", "250 ")
		cmd("STARTTLS\r\nRSET\r\nMAIL FROM:<evil@client.example>\r\n", "220 2.0.0 Ready to start TLS")
		tc := tls.Client(conn, &tls.Config{ServerName: "mx.example.test", InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		conn, br = tc, bufio.NewReader(tc)
		cmd("EHLO inject.example\r\n", "250 ") // its last line; RSET's would be "250 2.0.0 Ok"
		cmd("QUIT\r\n", "221 ")
		waitLog(t, s.in, "[127.0.0.1] ehlo=2 starttls=1 quit=1 commands=4\n")
	})
	// Last: Dovecot slows down the next logins from an address that
	// failed (its auth penalty), as Postfix's users see too.
	t.Run("wrong password", func(t *testing.T) {
		wrong := alice
		wrong.password = "not-" + alice.password
		out := runSwaks(t, s.sub, "--tls", "PLAIN", wrong, "nope@remote.example")
		if !strings.Contains(out, "<~* 535 5.7.8 Error: authentication failed") {
			t.Fatalf("wrong password:\n%s", out)
		}
		// fail2ban's postfix filter (mdre-auth), for the submission
		// service's syslog_name.
		f2b := regexp.MustCompile(`(?m)postern/submission/smtpd\[\d+\]: warning: [^[]*\[127\.0\.0\.1\]: SASL ((?i)LOGIN|PLAIN|(?:CRAM|DIGEST)-MD5) authentication failed: .*$`)
		for deadline := time.Now().Add(30 * time.Second); !f2b.MatchString(s.in.maillog(t)); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no fail2ban-matching warning:\n%s", s.in.maillog(t))
			}
		}
		if log := s.in.maillog(t); strings.Contains(log, wrong.password) {
			t.Errorf("the maillog shows the password:\n%s", log)
		}
	})
	t.Logf("%v", time.Since(start))
	if testing.Verbose() {
		t.Log(s.in.maillog(t))
	}
}

// dialSubmission connects, reads the greeting and says EHLO, with a deadline.
func dialSubmission(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp4", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	c, err := smtp.NewClient(conn, "mx.example.test")
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("laptop.example"); err != nil {
		t.Fatal(err)
	}
	return c
}

func startTLS(t *testing.T, c *smtp.Client) {
	t.Helper()
	if err := c.StartTLS(&tls.Config{ServerName: "mx.example.test", InsecureSkipVerify: true}); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
}

// replyIs says whether err is the SMTP reply code and text.
func replyIs(err error, code int, text string) bool {
	var e *textproto.Error
	return errors.As(err, &e) && e.Code == code && e.Msg == text
}

// testssl.sh (the Debian package's testssl) against the submissions
// (465) and submission (587, STARTTLS) listeners of the README's
// setup: its protocol and cipher-category checks find nothing "NOT
// ok" or deprecated. Only those checks (-p -s), both listeners at once:
// still about 30 s, so -short skips it.
func TestSubmissionTestssl(t *testing.T) {
	testssl := needTool(t, "testssl")
	if testing.Short() {
		t.Skip("testssl takes about 30 s (-short)")
	}
	in := newInstance(t, "")
	users := filepath.Join(in.dir, "users")
	u := submissionUsers[0]
	if _, e, code := runPasswdBin(t, u.password+"\n", "-f", users, "-s", u.scheme, u.name); code != 0 {
		t.Fatalf("postern passwd: exit %d %s", code, e)
	}
	s := startSubmission(t, in, "smtpd_sasl_type = passwd-file\nsmtpd_sasl_path = "+users+"\n")
	for _, x := range []struct{ name, addr string }{{"465", s.subs}, {"587 STARTTLS", s.sub}} {
		t.Run(x.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"--quiet", "--color", "0", "--nodns", "none", "--warnings", "off", "-p", "-s"}
			if x.name != "465" {
				args = append(args, "-t", "smtp")
			}
			start := time.Now()
			out, err := exec.Command(testssl, append(args, x.addr)...).CombinedOutput()
			t.Logf("testssl %v (%v):\n%s", args, time.Since(start).Round(time.Millisecond), out)
			if err != nil {
				t.Errorf("testssl: %v", err)
			}
			if o := string(out); strings.Contains(o, "NOT ok") || strings.Contains(o, "deprecated") || !strings.Contains(o, "TLS 1.3    offered (OK)") {
				t.Errorf("testssl's findings:\n%s", out)
			}
		})
	}
}
