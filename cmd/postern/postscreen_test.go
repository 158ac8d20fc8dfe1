package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dnstest"
)

// postscreen in front of smtpd, as Postfix 3.x's master.cf runs it: a
// pregreeting client is refused (enforce: 550 to RCPT) and logged, a
// clean one waits out the greet wait, is handed to smtpd on the same
// connection and cached (PASS NEW, then PASS OLD), a mynetworks client is
// allowlisted, a cidr-denylisted one dropped.
func TestPostscreenE2E(t *testing.T) {
	in := newInstance(t, "")
	deny := filepath.Join(in.dir, "postscreen_access.cidr")
	if err := os.WriteFile(deny, []byte("127.0.0.5/32 reject\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in.writeMain(t, "mynetworks = 127.0.0.1/32\npostscreen_greet_wait = 1s\npostscreen_greet_action = enforce\n"+
		"postscreen_access_list = permit_mynetworks, cidr:"+deny+"\npostscreen_blacklist_action = drop\n")
	master := fmt.Sprintf("%d inet n - n - 1 postscreen\nsmtpd pass - - n - - smtpd\n", in.port)
	if err := os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, e, code := in.run(t, "check"); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out, e)
	}
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)

	bot := dialSMTPFrom(t, "127.0.0.3", addr)
	bot.c.Write([]byte("EHLO foo\r\n"))
	bot.expect("250 ") // no 220 greeting after a pregreet, as Postfix's
	bot.cmd("MAIL FROM:<spam@bot.example>", "250 ")
	bot.cmd("RCPT TO:<postmaster@mx.example.test>", "550 5.5.1 Protocol error")
	waitLog(t, in, `postscreen[`)
	waitLog(t, in, `PREGREET 10 after 0`)
	waitLog(t, in, `from [127.0.0.3]:`)
	waitLog(t, in, "NOQUEUE: reject: RCPT from [127.0.0.3]:")

	for _, want := range []string{"PASS NEW [127.0.0.2]:", "PASS OLD [127.0.0.2]:"} {
		c := dialSMTPFrom(t, "127.0.0.2", addr)
		c.expect("220 mx.example.test ESMTP") // smtpd's, after the greet wait (or at once, cached)
		c.cmd("EHLO client.example", "250 ")
		c.cmd("QUIT", "221 ")
		waitLog(t, in, want)
	}
	waitLog(t, in, "CONNECT from [127.0.0.2]:")

	ok := dialSMTPFrom(t, "127.0.0.1", addr)
	ok.expect("220 mx.example.test ESMTP")
	ok.cmd("EHLO client.example", "250 ")
	waitLog(t, in, "ALLOWLISTED [127.0.0.1]:")

	denied := dialSMTPFrom(t, "127.0.0.5", addr)
	denied.expect("521 5.3.2 Service currently unavailable")
	waitLog(t, in, "DENYLISTED [127.0.0.5]:")
}

// A client listed by DNSBL sites whose weights reach the threshold is
// refused (dnstest zone); one below it passes.
func TestPostscreenDNSBLE2E(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{
		"6.0.0.127.zen.example.test":  {dnstest.A("127.0.0.2")},
		"6.0.0.127.bl2.example.test":  {dnstest.A("127.0.0.4")},
		"7.0.0.127.bl2.example.test":  {dnstest.A("127.0.0.4")},
		"6.0.0.127.filt.example.test": {dnstest.A("127.0.0.99")},
	})
	t.Setenv("POSTERN_DNS_SERVER", dns.Addr())
	in := newInstance(t, "mynetworks = 127.0.0.1/32\npostscreen_greet_wait = 1s\npostscreen_dnsbl_action = enforce\n"+
		"postscreen_dnsbl_sites = zen.example.test*2, bl2.example.test=127.0.0.[2..11], filt.example.test=127.0.0.[2..11]*5\npostscreen_dnsbl_threshold = 3\n")
	master := fmt.Sprintf("%d inet n - n - 1 postscreen\nsmtpd pass - - n - - smtpd\n", in.port)
	if err := os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	bad := dialSMTPFrom(t, "127.0.0.6", addr)
	bad.expect("220 ")
	bad.cmd("EHLO client.example", "250 ")
	bad.cmd("MAIL FROM:<a@client.example>", "250 ")
	bad.cmd("RCPT TO:<postmaster@mx.example.test>", "550 5.7.1 Service unavailable; client [127.0.0.6] blocked using zen.example.test")
	waitLog(t, in, "DNSBL rank 3 for [127.0.0.6]:")

	good := dialSMTPFrom(t, "127.0.0.7", addr)
	good.expect("220 mx.example.test ESMTP")
	good.cmd("EHLO client.example", "250 ")
	waitLog(t, in, "PASS NEW [127.0.0.7]:")
}

// The temporary allowlist outlives a restart (postscreen_cache_map): a
// client that passed (PASS NEW) before the daemon was stopped and
// started again is PASS OLD at once; the cache file is the daemon's
// (mode 0600). A cache map of a type postern does not keep is an error
// in postern check.
func TestPostscreenCacheRestartE2E(t *testing.T) {
	in := newInstance(t, "mynetworks = 127.0.0.1/32\npostscreen_greet_wait = 1s\n")
	master := fmt.Sprintf("%d inet n - n - 1 postscreen\nsmtpd pass - - n - - smtpd\n", in.port)
	if err := os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	visit := func(client, want string) {
		t.Helper()
		c := dialSMTPFrom(t, client, addr)
		c.expect("220 mx.example.test ESMTP")
		c.cmd("QUIT", "221 ")
		waitLog(t, in, want+" ["+client+"]:")
	}
	becomeSubreaper(t)
	in.start(t)
	waitLog(t, in, "cache btree:"+in.data+"/postscreen_cache full cleanup: retained=0 dropped=0 entries")
	visit("127.0.0.2", "PASS NEW")
	if out, e, code := in.run(t, "stop"); code != 0 {
		t.Fatalf("stop: exit %d %s%s", code, out, e)
	}
	file := filepath.Join(in.data, "postscreen_cache.postern")
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v %v, want mode 0600", err, st)
	}
	in.start(t)
	visit("127.0.0.2", "PASS OLD")
	waitLog(t, in, "cache btree:"+in.data+"/postscreen_cache full cleanup: retained=1 dropped=0 entries")

	// A daemon killed without its stop keeps what the writer appended
	// (no fsync: the kernel has it).
	visit("127.0.0.4", "PASS NEW")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(file); strings.Contains(string(b), "\n127.0.0.4 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("127.0.0.4 never reached the cache file")
		}
	}
	killHard(t, in.daemonPid(t))
	in.start(t)
	visit("127.0.0.4", "PASS OLD")
	if log := in.maillog(t); strings.Count(log, "PASS NEW [127.0.0.2]:") != 1 || strings.Count(log, "PASS NEW [127.0.0.4]:") != 1 {
		t.Errorf("tested again after a restart:\n%s", log)
	}

	// A reload that keeps the map keeps the open cache (no new load); one
	// that names another file opens it, and the old one is closed,
	// written, and found again when named again.
	cleanups := func() int { return strings.Count(in.maillog(t), " full cleanup: ") }
	reload := func(mainCf string) {
		t.Helper()
		in.writeMain(t, "mynetworks = 127.0.0.1/32\npostscreen_greet_wait = 1s\n"+mainCf)
		n := strings.Count(in.maillog(t), "reload -- version")
		if out, e, code := in.run(t, "reload"); code != 0 {
			t.Fatalf("reload: exit %d %s%s", code, out, e)
		}
		waitLogCount(t, in, "reload -- version", n+1)
	}
	before := cleanups()
	reload("postscreen_cache_retention_time = 6d\n")
	visit("127.0.0.5", "PASS NEW")
	if cleanups() != before {
		t.Errorf("a reload with the same postscreen_cache_map loaded the cache again:\n%s", in.maillog(t))
	}
	other := filepath.Join(in.data, "other_cache")
	reload("postscreen_cache_map = lmdb:" + other + "\n")
	waitLog(t, in, "cache lmdb:"+other+" full cleanup: retained=0 dropped=0 entries")
	visit("127.0.0.5", "PASS NEW")
	waitLogCount(t, in, "PASS NEW [127.0.0.5]:", 2)
	reload("")
	visit("127.0.0.5", "PASS OLD")

	in.writeMain(t, "mynetworks = 127.0.0.1/32\npostscreen_cache_map = memcache:/etc/postern/memcache.cf\n")
	out, e, code := in.run(t, "check")
	if code == 0 || !strings.Contains(out+e, "postscreen_cache_map") || !strings.Contains(out+e, "not in a memcache: table") {
		t.Errorf("check of a memcache: cache map: exit %d\n%s%s", code, out, e)
	}
}

// The deep protocol tests, as Postfix 3.7 runs them: a clean new client
// talks to postscreen's own SMTP engine, gets 450 at RCPT, and next time
// is handed to smtpd (PASS OLD); a pipelining client is enforced (550),
// a web client dropped, a bare-newline client only logged (defaults).
func TestPostscreenDeepE2E(t *testing.T) {
	in := newInstance(t, "")
	cert := filepath.Join(in.dir, "mx.pem")
	if err := os.WriteFile(cert, certPEM(t, "mx.example.test"), 0o600); err != nil {
		t.Fatal(err)
	}
	in.writeMain(t, "mynetworks = 127.0.0.1/32\npostscreen_greet_wait = 1s\npostscreen_pipelining_enable = yes\n"+
		"postscreen_non_smtp_command_enable = yes\npostscreen_bare_newline_enable = yes\n"+
		"smtpd_tls_security_level = may\nsmtpd_tls_chain_files = "+cert+"\n")
	master := fmt.Sprintf("%d inet n - n - 1 postscreen\nsmtpd pass - - n - - smtpd\n", in.port)
	if err := os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, e, code := in.run(t, "check"); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out, e)
	}
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)

	c := dialSMTPFrom(t, "127.0.0.2", addr)
	c.expect("220 mx.example.test ESMTP") // after the 220- and the greet wait
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<a@client.example>", "250 2.1.0 Ok")
	c.cmd("RCPT TO:<postmaster@mx.example.test>", "450 4.3.2 Service currently unavailable")
	c.cmd("QUIT", "221 2.0.0 Bye")
	waitLog(t, in, "PASS NEW [127.0.0.2]:")
	waitLog(t, in, "NOQUEUE: reject: RCPT from [127.0.0.2]:")

	// Back later: straight to smtpd, which offers PIPELINING (postscreen's
	// engine never does).
	c = dialSMTPFrom(t, "127.0.0.2", addr)
	c.expect("220 mx.example.test ESMTP")
	c.c.Write([]byte("EHLO client.example\r\n"))
	c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	pipelining := false
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		pipelining = pipelining || strings.HasPrefix(l, "250-PIPELINING")
		if !strings.HasPrefix(l, "250-") {
			break
		}
	}
	if !pipelining {
		t.Fatal("the returning client did not reach smtpd")
	}
	c.cmd("QUIT", "221 ")
	waitLog(t, in, "PASS OLD [127.0.0.2]:")

	bot := dialSMTPFrom(t, "127.0.0.3", addr)
	bot.expect("220 mx.example.test ESMTP")
	bot.c.Write([]byte("EHLO bot.example\r\nMAIL FROM:<spam@bot.example>\r\n"))
	bot.expect("250 ")
	bot.expect("250 2.1.0 Ok")
	bot.cmd("RCPT TO:<postmaster@mx.example.test>", "550 5.5.1 Protocol error")
	waitLog(t, in, "COMMAND PIPELINING from [127.0.0.3]:")

	web := dialSMTPFrom(t, "127.0.0.4", addr)
	web.expect("220 mx.example.test ESMTP")
	web.cmd("GET / HTTP/1.1", "521 5.7.0 Error: I can break rules, too. Goodbye.")
	waitLog(t, in, "after CONNECT: GET / HTTP/1.1")
	waitLog(t, in, "NON-SMTP COMMAND from [127.0.0.4]:")

	lf := dialSMTPFrom(t, "127.0.0.6", addr)
	lf.expect("220 mx.example.test ESMTP")
	lf.c.Write([]byte("EHLO lf.example\n"))
	lf.expect("250 ")
	lf.cmd("MAIL FROM:<a@lf.example>", "250 2.1.0 Ok")
	lf.cmd("RCPT TO:<postmaster@mx.example.test>", "450 4.3.2 Service currently unavailable")
	waitLog(t, in, "BARE NEWLINE from [127.0.0.6]:")

	// A client that wants TLS gets STARTTLS from postscreen's engine too.
	tc := dialSMTPFrom(t, "127.0.0.7", addr)
	tc.expect("220 mx.example.test ESMTP")
	tc.cmd("EHLO tls.example", "250 ")
	tc.cmd("STARTTLS", "220 2.0.0 Ready to start TLS")
	tlsConn := tls.Client(tc.c, &tls.Config{InsecureSkipVerify: true, ServerName: "mx.example.test"})
	if err := tlsConn.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc.c, tc.br = tlsConn, bufio.NewReader(tlsConn)
	tc.cmd("EHLO tls.example", "250 ")
	tc.cmd("MAIL FROM:<a@tls.example>", "250 2.1.0 Ok")
	tc.cmd("RCPT TO:<postmaster@mx.example.test>", "450 4.3.2 Service currently unavailable")
	tc.cmd("QUIT", "221 2.0.0 Bye")
	waitLog(t, in, "PASS NEW [127.0.0.7]:")
}

// Postfix's smtp-source through postscreen at full speed: 20 sessions at
// a time, 200 messages (one per session), every client meeting the tests
// (no access list): all delivered, no session refused; the first
// sessions wait out the greet wait and pass (PASS NEW), the rest pass on
// the temporary allowlist (PASS OLD).
func TestPostscreenSmtpSource(t *testing.T) {
	source := needTool(t, "smtp-source")
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	const sessions, messages = 20, 200
	mail := t.TempDir()
	in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\nhome_mailbox =\n"+
		"mail_spool_directory = %s/\npostscreen_access_list =\npostscreen_greet_wait = 1s\n", mail))
	master := fmt.Sprintf("%d inet n - n - 1 postscreen\nsmtpd pass - - n - - smtpd\n", in.port)
	if err := os.WriteFile(filepath.Join(in.dir, "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	in.start(t)
	out, err := exec.Command(source, "-s", fmt.Sprint(sessions), "-m", fmt.Sprint(messages), "-l", "4096",
		"-f", "app@client.example", "-t", u.Username+"@mx.example.test", fmt.Sprintf("127.0.0.1:%d", in.port)).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("smtp-source: %v\n%s", err, out)
	}
	waitFiles(t, filepath.Join(mail, u.Username, "new"), messages)
	log := in.maillog(t)
	passed := strings.Count(log, ": PASS NEW [127.0.0.1]:") + strings.Count(log, ": PASS OLD [127.0.0.1]:")
	if passed != messages {
		t.Errorf("%d sessions passed postscreen, want %d:\n%s", passed, messages, log)
	}
	for _, bad := range []string{"PREGREET", "HANGUP", "DISCONNECT", "reject:", "warning: service"} {
		if strings.Contains(log, bad) {
			t.Errorf("maillog shows %q:\n%s", bad, log)
		}
	}
}
