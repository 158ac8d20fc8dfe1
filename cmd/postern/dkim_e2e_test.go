package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// dkimKeys makes an RSA and an Ed25519 key for example.com with
// `postern dkim keygen`, puts the dual line it prints in the table, and
// returns the DNS records it printed ({name: TXT}).
func dkimKeys(t *testing.T, in *instance, table string) map[string]string {
	t.Helper()
	records := map[string]string{}
	var line string
	for _, args := range [][]string{{"example.com", "rsa2026"}, {"-t", "ed25519", "example.com", "ed2026"}} {
		out, errOut, code := in.run(t, append([]string{"dkim", "keygen"}, args...)...)
		if code != 0 {
			t.Fatalf("keygen %v: %d %s", args, code, errOut)
		}
		name, rec := zoneRecord(t, out)
		records[name] = strings.Join(rec, "")
		m := regexp.MustCompile(`(?m)^example\.com .*$`).FindString(out)
		if m == "" {
			t.Fatalf("no table line in:\n%s", out)
		}
		line = m
		if err := os.WriteFile(table, []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if line != "example.com rsa2026:example.com.rsa2026.key, ed2026:example.com.ed2026.key" {
		t.Fatalf("table line %q", line)
	}
	return records
}

// dkimMessage is a message from addr with the fields OpenDKIM requires
// (it refuses a header without Date).
func dkimMessage(from, to, subject string) string {
	return "From: Joe <" + from + ">\r\nTo: " + to + "\r\nSubject: " + subject + "\r\n" +
		"Date: Mon, 7 Dec 2026 13:00:00 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.com>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Hello,  with  spaces \r\n\r\nand a trailing blank line\r\n\r\n"
}

// checkSigned asserts msg has exactly the two signatures (rsa2026 and
// ed2026, d=example.com) and that each verifies with dkimpy and with
// OpenDKIM (opendkim-testmsg, one signature at a time: it passes a
// message when any one does), and that a changed body fails both.
func checkSigned(t *testing.T, what, msg string, records map[string]string) {
	t.Helper()
	sigs := dkimFields(msg)
	if len(sigs) != 2 || !strings.Contains(sigs[0], "s=rsa2026") || !strings.Contains(sigs[1], "s=ed2026") ||
		!strings.Contains(sigs[0], "d=example.com;") || !strings.Contains(sigs[1], "d=example.com;") {
		t.Fatalf("%s: signatures %q, want rsa2026 then ed2026 once each:\n%s", what, sigs, msg)
	}
	if got := dkimpyVerify(t, msg, records); strings.Join(got, ",") != "0 pass,1 pass" {
		t.Errorf("%s: dkimpy: %q\n%s", what, got, msg)
	}
	bad := strings.Replace(msg, "Hello,", "Hallo,", 1)
	for _, line := range dkimpyVerify(t, bad, records) {
		if !strings.Contains(line, "fail") {
			t.Errorf("%s: changed body: dkimpy says %q", what, line)
		}
	}
	for i := range sigs {
		one := withoutField(msg, sigs[1-i])
		if code, out := opendkimVerify(t, one, records); code != 0 {
			t.Errorf("%s: opendkim-testmsg, signature %d: exit %d: %s", what, i, code, out)
		}
		if code, _ := opendkimVerify(t, strings.Replace(one, "Hello,", "Hallo,", 1), records); code == 0 {
			t.Errorf("%s: opendkim-testmsg passes signature %d of a changed body", what, i)
		}
	}
}

// dkimFields returns the DKIM-Signature fields of msg's header, in order,
// folded lines included.
func dkimFields(msg string) []string {
	hdr, _, _ := strings.Cut(strings.ReplaceAll(msg, "\r\n", "\n"), "\n\n")
	var fields []string
	for _, l := range strings.SplitAfter(hdr+"\n", "\n") {
		switch {
		case l == "":
		case l[0] == ' ' || l[0] == '\t':
			if len(fields) > 0 {
				fields[len(fields)-1] += l
			}
		default:
			fields = append(fields, l)
		}
	}
	var out []string
	for _, f := range fields {
		if strings.HasPrefix(strings.ToLower(f), "dkim-signature:") {
			out = append(out, f)
		}
	}
	return out
}

func withoutField(msg, field string) string {
	m := strings.ReplaceAll(msg, "\r\n", "\n")
	return strings.Replace(m, field, "", 1)
}

// sendSMTPFrom sends msg from the local address laddr (outside
// mynetworks when not 127.0.0.1).
func sendSMTPFrom(t *testing.T, laddr, addr, from, to, msg string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(laddr)}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, "mx.example.test")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(to); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(msg))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
}

var queuedAs = regexp.MustCompile(`queued as (\S+)`)

// TestDKIMSigningEndToEnd: the real daemon with keys from `postern dkim
// keygen` signs, once and before queueing, mail from mynetworks over
// SMTP and mail from sendmail, and each signature verifies with dkimpy
// and OpenDKIM; mail from a client outside mynetworks is not signed; a
// message deferred and retried is not signed again.
func TestDKIMSigningEndToEnd(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	dir := t.TempDir()
	table := filepath.Join(dir, "dkim_signing")
	sink := startFlakySink(t) // defers the first relayed message
	in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.1/32\nalias_maps =\n"+
		"home_mailbox =\nmail_spool_directory = %s/mail/\ndkim_signing_maps = texthash:%s\nrelayhost = [127.0.0.1]:%d\n",
		dir, table, sink.port))
	if err := os.MkdirAll(filepath.Join(dir, "mail"), 0o755); err != nil {
		t.Fatal(err)
	}
	maildir := filepath.Join(dir, "mail", u.Username, "new")
	rcpt := u.Username + "@mx.example.test"
	records := dkimKeys(t, in, table)
	if out, _, code := in.run(t, "check"); code != 0 {
		t.Fatalf("postern check: %d\n%s", code, out)
	}
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)

	// Over SMTP from mynetworks, to a local Maildir.
	o := sendSMTP(addr, "joe@example.com", rcpt, []byte(dkimMessage("joe@example.com", rcpt, "over smtp")))
	if !o.Queued {
		t.Fatalf("not queued: %+v", o)
	}
	id := queuedAs.FindStringSubmatch(o.Reply)[1]
	files := waitFiles(t, maildir, 1)
	checkSigned(t, "smtp", files[0], records)
	for _, sel := range []string{"rsa2026", "ed2026"} {
		waitLog(t, in, "postern/cleanup[")
		if want := ": " + id + ": DKIM-Signature field added (s=" + sel + ", d=example.com)"; !strings.Contains(in.maillog(t), want) {
			t.Errorf("maillog lacks %q:\n%s", want, in.maillog(t))
		}
	}

	// From sendmail, From: a subdomain: signed with its parent's keys.
	if _, e, code := sendmailRun(in, strings.Replace(dkimMessage("app@host.example.com", rcpt, "from sendmail"), "\r\n", "\n", -1), "-t", "-i"); code != 0 {
		t.Fatalf("sendmail: %d %s", code, e)
	}
	files = waitFiles(t, maildir, 2)
	var fromSendmail string
	for _, f := range files {
		if strings.Contains(f, "Subject: from sendmail") {
			fromSendmail = f
		}
	}
	checkSigned(t, "sendmail", fromSendmail, records)

	// A client outside mynetworks (127.0.0.2) is not signed for.
	sendSMTPFrom(t, "127.0.0.2", addr, "joe@example.com", rcpt, dkimMessage("joe@example.com", rcpt, "from outside"))
	files = waitFiles(t, maildir, 3)
	for _, f := range files {
		if strings.Contains(f, "Subject: from outside") && strings.Contains(f, "DKIM-Signature") {
			t.Errorf("mail from outside mynetworks signed:\n%s", f)
		}
	}

	// Relayed: deferred (the next hop answers 451), the queue file
	// already holds the signatures; the retry sends them as they are:
	// one each, verifying, signed once in the maillog.
	o = sendSMTP(addr, "joe@example.com", "you@remote.example", []byte(dkimMessage("joe@example.com", "you@remote.example", "deferred")))
	if !o.Queued {
		t.Fatalf("not queued: %+v", o)
	}
	id = queuedAs.FindStringSubmatch(o.Reply)[1]
	waitLog(t, in, id+": to=<you@remote.example>")
	waitLog(t, in, "status=deferred")
	qf := queueFile(t, in, id)
	if n := strings.Count(qf, "DKIM-Signature:"); n != 2 {
		t.Errorf("the queue file holds %d DKIM-Signature fields, want 2", n)
	}
	if out, e, code := in.run(t, "queue", "-f"); code != 0 {
		t.Fatalf("queue -f: %d %s %s", code, out, e)
	}
	var m sinkMessage
	select {
	case m = <-sink.got:
	case <-time.After(60 * time.Second):
		t.Fatalf("nothing relayed after the flush:\n%s", in.maillog(t))
	}
	relayed := strings.ReplaceAll(string(m.data[:len(m.data)-len(".\r\n")]), "\r\n..", "\r\n.")
	checkSigned(t, "relayed after a retry", relayed, records)
	if n := strings.Count(in.maillog(t), id+": DKIM-Signature field added"); n != 2 {
		t.Errorf("%s signed %d times in the maillog, want 2 (one per key)", id, n)
	}
}

// queueFile returns the content of the queue file of id, wherever it is
// under the queue directory.
func queueFile(t *testing.T, in *instance, id string) string {
	t.Helper()
	var found string
	filepath.Walk(filepath.Join(in.dir, "queue"), func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && filepath.Base(p) == id {
			b, _ := os.ReadFile(p)
			found = string(b)
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no queue file %s", id)
	}
	return found
}

// startFlakySink is a next hop that answers the first message's DATA
// with 451 and takes the next ones (sent on got).
func startFlakySink(t *testing.T) *sinkSMTP {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &sinkSMTP{port: ln.Addr().(*net.TCPAddr).Port, got: make(chan sinkMessage, 16)}
	var refused atomic.Bool
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				br := bufio.NewReader(c)
				fmt.Fprint(c, "220 sink.example ESMTP\r\n")
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					switch strings.ToUpper(strings.Fields(line + " x")[0]) {
					case "DATA":
						fmt.Fprint(c, "354 go ahead\r\n")
						var data []byte
						for !bytes.HasSuffix(data, []byte("\r\n.\r\n")) {
							b, err := br.ReadByte()
							if err != nil {
								return
							}
							data = append(data, b)
						}
						if refused.CompareAndSwap(false, true) {
							fmt.Fprint(c, "451 4.3.0 try again later\r\n")
							continue
						}
						s.got <- sinkMessage{data: data}
						fmt.Fprint(c, "250 2.0.0 Ok: queued\r\n")
					case "QUIT":
						fmt.Fprint(c, "221 2.0.0 Bye\r\n")
						return
					default:
						fmt.Fprint(c, "250 sink.example\r\n")
					}
				}
			}()
		}
	}()
	return s
}

// TestDKIMReloadRefusesBadKey: a key that became readable by everyone
// makes `postern reload` fail, naming the table entry, the file and the
// fix, and the running configuration keeps signing; a missing key makes
// `postern start` fail the same way.
func TestDKIMReloadRefusesBadKey(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "dkim_signing")
	in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.1/32\nrelayhost = [127.0.0.1]:1\ndkim_signing_maps = texthash:%s\n", table))
	if _, e, code := in.run(t, "dkim", "keygen", "-t", "ed25519", "example.com", "ed2026"); code != 0 {
		t.Fatalf("keygen: %d %s", code, e)
	}
	key := filepath.Join(in.dir, "dkim", "example.com.ed2026.key")
	os.WriteFile(table, []byte("example.com ed2026:example.com.ed2026.key\nexample.org missing:example.org.missing.key\n"), 0o644)
	_, e, code := in.run(t, "start")
	for _, want := range []string{"parameter dkim_signing_maps: table texthash:" + table + ", entry example.org: selector missing: key file " +
		filepath.Join(in.dir, "dkim", "example.org.missing.key") + ": no such file or directory (make it with \"postern dkim keygen example.org SELECTOR\", or fix the entry)"} {
		if code == 0 || !strings.Contains(e, want) {
			t.Fatalf("start with a missing key: exit %d, stderr lacks %q:\n%s", code, want, e)
		}
	}
	os.WriteFile(table, []byte("example.com ed2026:example.com.ed2026.key\n"), 0o644)
	in.start(t)
	os.Chmod(key, 0o644)
	_, e, code = in.run(t, "reload")
	if want := "entry example.com: selector ed2026: key file " + key + " is unsafe (mode 0644: readable by everyone or writable by others than its owner): run \"chmod 0600 " + key + "\""; code == 0 || !strings.Contains(e, want) {
		t.Fatalf("reload with an unsafe key: exit %d, stderr lacks %q:\n%s", code, want, e)
	}
	o := sendSMTP(fmt.Sprintf("127.0.0.1:%d", in.port), "joe@example.com", "you@remote.example", []byte(dkimMessage("joe@example.com", "you@remote.example", "still signed")))
	if !o.Queued {
		t.Fatalf("not queued: %+v", o)
	}
	id := queuedAs.FindStringSubmatch(o.Reply)[1]
	waitLog(t, in, id+": DKIM-Signature field added (s=ed2026, d=example.com)")
}

// TestDKIMSigningFailureTempfails: a key that cannot be loaded when a
// message needs it (a regexp: table cannot be checked ahead) makes the
// message wait with the client, 451 4.7.0, never queued unsigned.
func TestDKIMSigningFailureTempfails(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "dkim_signing")
	os.WriteFile(table, []byte("/^example\\.com$/ s1:nope.key\n"), 0o644)
	in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.1/32\nrelayhost = [127.0.0.1]:1\ndkim_signing_maps = regexp:%s\n", table))
	in.start(t)
	o := sendSMTP(fmt.Sprintf("127.0.0.1:%d", in.port), "joe@example.com", "you@remote.example", []byte(dkimMessage("joe@example.com", "you@remote.example", "unsigned")))
	if o.Queued || o.Stage != "end of DATA" || o.Reply != "451 4.7.0 Error: DKIM signing failed; try again later" {
		t.Fatalf("got %+v", o)
	}
	waitLog(t, in, "dkim-reject: END-OF-MESSAGE from localhost[127.0.0.1]: 4.7.0 Error: DKIM signing failed; try again later;")
	if want := "DKIM signing failed: dkim_signing_maps entry example.com: selector s1: key file " + filepath.Join(in.dir, "dkim", "nope.key") + ": no such file or directory"; !strings.Contains(in.maillog(t), want) {
		t.Errorf("maillog lacks %q:\n%s", want, in.maillog(t))
	}
	if out, _, _ := in.run(t, "queue", "-p"); out != "Mail queue is empty\n" {
		t.Errorf("queued: %s", out)
	}
	// From sendmail: the message waits in the maildrop.
	if _, e, code := sendmailRun(in, dkimMessage("joe@example.com", "you@remote.example", "local"), "you@remote.example"); code != 0 {
		t.Fatalf("sendmail: %d %s", code, e)
	}
	waitLog(t, in, "dkim-reject: END-OF-MESSAGE from localhost[127.0.0.1]: 4.7.0 Error: DKIM signing failed; try again later;")
	if names := maildropNames(t, in); len(names) != 1 {
		t.Errorf("maildrop holds %q, want the message", names)
	}
}
