package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/dnstest"
	"github.com/postern-mta/postern/internal/smtpd/smtptest"
)

// readmeExamples are the example directories the README shows file by
// file.
var readmeExamples = []string{"hardened-public", "send-only", "multi-domain"}

// readmeFiles returns the files the README shows: an indented block
// line "# examples/DIR/FILE" starts one, which runs to the end of its
// block or to the next such line; trailing blank lines are dropped.
func readmeFiles(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	header := regexp.MustCompile(`^    # (examples/[a-z-]+/[^ /]+)$`)
	files := map[string]string{}
	var cur string
	var lines []string
	flush := func() {
		if cur == "" {
			return
		}
		for len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if _, dup := files[cur]; dup {
			t.Errorf("README shows %s twice", cur)
		}
		files[cur] = strings.Join(lines, "\n") + "\n"
		cur, lines = "", nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		if m := header.FindStringSubmatch(line); m != nil {
			flush()
			cur = m[1]
			continue
		}
		switch {
		case cur == "":
		case line == "":
			lines = append(lines, "")
		case strings.HasPrefix(line, "    "):
			lines = append(lines, line[4:])
		default:
			flush()
		}
	}
	flush()
	return files
}

// The README shows every file of the examples exactly as it is, so the
// two never drift apart.
func TestREADMEExamplesMatchFiles(t *testing.T) {
	shown := readmeFiles(t)
	var want []string
	for _, dir := range readmeExamples {
		entries, err := os.ReadDir(filepath.Join("../../examples", dir))
		if err != nil || len(entries) == 0 {
			t.Fatalf("examples/%s: %v", dir, err)
		}
		for _, e := range entries {
			name := "examples/" + dir + "/" + e.Name()
			want = append(want, name)
			b, _ := os.ReadFile(filepath.Join("../..", name))
			got, ok := shown[name]
			switch {
			case !ok:
				t.Errorf("README does not show %s", name)
			case got != string(b):
				t.Errorf("README's %s differs from the file:\n--- README\n%s--- file\n%s", name, got, b)
			}
		}
	}
	for name := range shown {
		if !slices.Contains(want, name) {
			t.Errorf("README shows %s, which is no file of %v", name, readmeExamples)
		}
	}
}

// exampleInstance copies examples/NAME to a temporary root, where
// /etc/... paths become ROOT/etc/... (the configuration directory is
// ROOT/etc/postern), the smtp service listens on a free port, the
// queue and data directories and mail_owner are the test's, and set
// replaces (or adds) main.cf parameters.
func exampleInstance(t *testing.T, name string, set map[string]string) *instance {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "etc", "postern")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := &instance{dir: dir, data: filepath.Join(root, "data"), port: freePort(t)}
	src := filepath.Join("../../examples", name)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	set["queue_directory"] = filepath.Join(root, "spool")
	set["data_directory"] = in.data
	set["mail_owner"] = u.Username
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "/etc/", root+"/etc/")
		switch e.Name() {
		case "master.cf":
			re := regexp.MustCompile(`(?m)^smtp(\s+inet)`)
			if !re.MatchString(text) {
				t.Fatalf("%s/master.cf has no smtp inet service", src)
			}
			text = re.ReplaceAllString(text, fmt.Sprint(in.port)+"$1")
		case "main.cf":
			for k, v := range set {
				re := regexp.MustCompile(`(?m)^` + k + ` =.*(\n[ \t].*)*$`)
				if re.MatchString(text) {
					text = re.ReplaceAllLiteralString(text, k+" = "+v)
				} else {
					text += k + " = " + v + "\n"
				}
			}
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if _, _, code := runBin(t, "postern", "status", "-c", dir); code == 0 {
			runBin(t, "postern", "abort", "-c", dir)
		}
	})
	return in
}

// exampleCert writes a certificate for host where the examples'
// main.cf files look for certbot's: ROOT/etc/letsencrypt/live/HOST.
func exampleCert(t *testing.T, in *instance, host string) {
	t.Helper()
	tlsDir := filepath.Join(filepath.Dir(filepath.Dir(in.dir)), "etc", "letsencrypt", "live", host)
	if err := os.MkdirAll(tlsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cert, key := smtptest.WriteCert(t, t.TempDir(), smtptest.NewCert(t, host))
	for src, dst := range map[string]string{cert: "fullchain.pem", key: "privkey.pem"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tlsDir, dst), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// checkClean runs postern check and wants no error.
func checkClean(t *testing.T, in *instance) {
	t.Helper()
	out, e, code := in.run(t, "check")
	if code != 0 || !strings.Contains(out, " 0 errors") {
		t.Fatalf("check: exit %d\n%s%s", code, out, e)
	}
}

// examples/hardened-public: postern check passes, the daemon starts,
// and postscreen refuses a pregreeting client and a DNSBL-listed one
// (zen.spamhaus.org*3 in a dnstest zone) and hands a clean one to
// smtpd, which offers STARTTLS. Test-only changes: loopback, mynetworks
// only 127.0.0.1 (so 127.0.0.2... are strangers), a 1 s greet wait.
func TestExampleHardenedPublic(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{"2.0.0.127.zen.spamhaus.org": {dnstest.A("127.0.0.2")}})
	t.Setenv("POSTERN_DNS_SERVER", dns.Addr())
	in := exampleInstance(t, "hardened-public", map[string]string{"inet_interfaces": "127.0.0.1",
		"mynetworks": "127.0.0.1/32", "postscreen_greet_wait": "1s"})
	exampleCert(t, in, "mx.example.org")
	checkClean(t, in)
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)

	bot := dialSMTPFrom(t, "127.0.0.3", addr)
	bot.c.Write([]byte("EHLO bot\r\n"))
	bot.expect("250 ") // no 220 after a pregreet: the engine answers the EHLO, as Postfix's
	bot.cmd("MAIL FROM:<spam@bot.example>", "250 ")
	bot.cmd("RCPT TO:<postmaster@example.org>", "550 5.5.1 Protocol error")
	waitLog(t, in, "PREGREET 10 after ")

	listed := dialSMTPFrom(t, "127.0.0.2", addr)
	listed.expect("220 ")
	listed.cmd("EHLO client.example", "250 ")
	listed.cmd("MAIL FROM:<a@client.example>", "250 ")
	listed.cmd("RCPT TO:<postmaster@example.org>", "550 5.7.1 Service unavailable; client [127.0.0.2] blocked using zen.spamhaus.org")
	waitLog(t, in, "DNSBL rank 3 for [127.0.0.2]:")

	clean := dialSMTPFrom(t, "127.0.0.4", addr)
	clean.expect("220 mx.example.org ESMTP")
	clean.cmd("EHLO client.example", "250 ")
	clean.cmd("STARTTLS", "220 ")
	waitLog(t, in, "PASS NEW [127.0.0.4]:")
}

// examples/send-only: after `postern dkim keygen`, postern check passes,
// the daemon starts, a sender domain's 20 messages an hour are signed
// and queued and its 21st is deferred with 450 4.7.1; the null sender
// and other domains share the catch-all's 10. Test-only
// changes: a dnstest server, so nothing is looked up outside.
func TestExampleSendOnly(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{})
	t.Setenv("POSTERN_DNS_SERVER", dns.Addr())
	in := exampleInstance(t, "send-only", map[string]string{})
	if out, e, code := runBin(t, "postern", "dkim", "keygen", "-c", in.dir, "example.com", "s2026"); code != 0 {
		t.Fatalf("dkim keygen: exit %d\n%s%s", code, out, e)
	}
	checkClean(t, in)
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	const from = "news@shop.example.com"
	body := []byte("From: Shop <" + from + ">\r\nSubject: offer\r\n\r\nbuy\r\n")
	for i := 1; i <= 20; i++ {
		if out := sendSMTP(addr, from, "someone@example.net", body); !out.Queued {
			t.Fatalf("message %d: %+v", i, out)
		}
	}
	out := sendSMTP(addr, from, "someone@example.net", body)
	if want := "450 4.7.1 <" + from + ">: Sender address rejected: message rate limit exceeded"; out.Stage != "MAIL" || out.Reply != want {
		t.Fatalf("message 21: %+v, want %q at MAIL", out, want)
	}
	waitLog(t, in, "message rate limit exceeded for shop.example.com: 20/1h from localhost[127.0.0.1]")
	// Choosing another sender does not escape: the null sender and
	// domains the table does not name share the catch-all's 10 an hour.
	bounce := []byte("Subject: bounce\r\n\r\nreport\r\n")
	for i := 1; i <= 10; i++ {
		from := ""
		if i%2 == 0 {
			from = fmt.Sprintf("x@other%d.example", i)
		}
		if out := sendSMTP(addr, from, "someone@example.net", bounce); !out.Queued {
			t.Fatalf("catch-all message %d from <%s>: %+v", i, from, out)
		}
	}
	if out := sendSMTP(addr, "", "someone@example.net", bounce); out.Stage != "MAIL" || !strings.HasPrefix(out.Reply, "450 4.7.1 <>: ") {
		t.Fatalf("11th message to the catch-all: %+v, want 450 at MAIL", out)
	}
	waitLog(t, in, "message rate limit exceeded for *: 10/1h from localhost[127.0.0.1]")
	waitLogCount(t, in, "DKIM-Signature field added (s=s2026, d=example.com)", 20)
}
