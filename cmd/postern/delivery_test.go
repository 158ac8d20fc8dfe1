package main

import (
	"bytes"
	"fmt"
	"net/smtp"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/testperm"
)

// mailInstance is a daemon that delivers local mail to Maildirs under
// its own directory (mail_spool_directory ending in "/").
func mailInstance(t *testing.T, extra string) (*instance, string) {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	dir := t.TempDir()
	in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\n"+
		"home_mailbox =\nmail_spool_directory = %s/mail/\n%s", dir, extra))
	if err := os.MkdirAll(filepath.Join(dir, "mail"), 0o755); err != nil {
		t.Fatal(err)
	}
	in.start(t)
	return in, filepath.Join(dir, "mail", u.Username)
}

// waitFiles waits until dir holds n files and returns their contents.
func waitFiles(t *testing.T, dir string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a loaded machine, -race
	for {
		entries, _ := os.ReadDir(dir)
		if len(entries) >= n || time.Now().After(deadline) {
			var out []string
			for _, e := range entries {
				b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
				out = append(out, string(b))
			}
			if len(out) != n {
				t.Fatalf("%s holds %d files, want %d", dir, len(out), n)
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (in *instance) maillog(t *testing.T) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(in.data, "maillog"))
	return string(b)
}

// A message sent over SMTP is queued (250 with its queue ID), delivered to
// the user's Maildir with Postfix's headers, logged as Postfix logs it,
// and removed from the queue.
func TestDeliverToMaildir(t *testing.T) {
	in, maildir := mailInstance(t, "")
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	var reply string
	if _, err := exec.LookPath("swaks"); err == nil {
		out, err := exec.Command("swaks", "--server", addr, "--from", "app@client.example", "--to", rcpt,
			"--header", "Subject: maildir test", "--body", "hello from swaks").CombinedOutput()
		if err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		reply = string(out)
	} else {
		msg := "Subject: maildir test\r\n\r\nhello from net/smtp\r\n"
		if err := smtp.SendMail(addr, nil, "app@client.example", []string{rcpt}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		reply = "<~ 250 2.0.0 Ok: queued as (net/smtp hides it)"
	}
	if !strings.Contains(reply, "250 2.0.0 Ok: queued as ") {
		t.Fatalf("no queue ID in the reply:\n%s", reply)
	}
	files := waitFiles(t, filepath.Join(maildir, "new"), 1)
	for _, want := range []string{"Return-Path: <app@client.example>\n", "Delivered-To: " + rcpt + "\n",
		"\tby mx.example.test (postern) with ESMTP id ", "Subject: maildir test\n"} {
		if !strings.Contains(files[0], want) {
			t.Errorf("delivered message lacks %q:\n%s", want, files[0])
		}
	}
	if strings.Contains(files[0], "\r") {
		t.Errorf("delivered message keeps CR line ends")
	}
	waitLog(t, in, ": removed")
	log := in.maillog(t)
	for _, want := range []string{"postern/smtpd[", ": client=localhost[127.0.0.1]", "postern/qmgr[", "from=<app@client.example>, size=",
		"nrcpt=1 (queue active)", "postern/local[", "to=<" + rcpt + ">, relay=local, delay=", "dsn=2.0.0, status=sent (delivered to maildir)"} {
		if !strings.Contains(log, want) {
			t.Errorf("maillog lacks %q:\n%s", want, log)
		}
	}
	if out, _, code := in.run(t, "queue", "-p"); code != 0 || out != "Mail queue is empty\n" {
		t.Errorf("queue -p: exit %d %q", code, out)
	}
}

func waitLog(t *testing.T, in *instance, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second) // a loaded machine, -race
	for !strings.Contains(in.maillog(t), text) {
		if time.Now().After(deadline) {
			t.Fatalf("maillog never showed %q:\n%s", text, in.maillog(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLogCount waits until the maillog holds text at least n times.
func waitLogCount(t *testing.T, in *instance, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(in.maillog(t), text) < n {
		if time.Now().After(deadline) {
			t.Fatalf("maillog shows %q %d times, want %d:\n%s", text, strings.Count(in.maillog(t), text), n, in.maillog(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Mail to an unknown local user (local_recipient_maps empty, so smtpd
// takes it) bounces at delivery; the notice to a remote sender waits in
// the deferred queue (its relay is down), where mailq and postsuper see it.
func TestBounceAndQueueTools(t *testing.T) {
	// The relay is a closed port: the notice waits in the deferred queue.
	in, _ := mailInstance(t, fmt.Sprintf("local_recipient_maps =\nrelayhost = [127.0.0.1]:%d\n", freePort(t)))
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	msg := "Subject: to nobody\r\n\r\nhello\r\n"
	if err := smtp.SendMail(addr, nil, "app@client.example", []string{"no-such-user@mx.example.test"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	waitLog(t, in, "sender non-delivery notification: ")
	waitLog(t, in, "to=<app@client.example>, relay=none")
	log := in.maillog(t)
	if !strings.Contains(log, `to=<no-such-user@mx.example.test>, relay=local, delay=`) ||
		!strings.Contains(log, `dsn=5.1.1, status=bounced (unknown user: "no-such-user")`) {
		t.Errorf("no bounce line:\n%s", log)
	}
	out, _, code := in.run(t, "queue", "-p")
	if code != 0 || !strings.Contains(out, "MAILER-DAEMON") || !strings.Contains(out, "app@client.example") ||
		!strings.HasSuffix(out, "in 1 Request.\n") {
		t.Fatalf("queue -p: exit %d\n%s", code, out)
	}
	id := strings.Fields(strings.Split(out, "\n")[1])[0]
	if _, e, code := in.run(t, "super", "-h", id); code != 0 || !strings.Contains(e, "Placed on hold: 1 message\n") {
		t.Errorf("super -h: exit %d %q", code, e)
	}
	if out, _, _ := in.run(t, "queue", "-p"); !strings.Contains(out, id+"!") {
		t.Errorf("held message not flagged:\n%s", out)
	}
	if _, e, code := in.run(t, "super", "-d", "ALL"); code != 0 || !strings.Contains(e, "Deleted: 1 message\n") {
		t.Errorf("super -d ALL: exit %d %q", code, e)
	}
	if out, _, _ := in.run(t, "queue", "-p"); out != "Mail queue is empty\n" {
		t.Errorf("after delete:\n%s", out)
	}
}

// newaliases builds alias_database; mail to an alias then reaches the
// user it names, and the log shows the original recipient.
func TestNewaliasesAndAliasDelivery(t *testing.T) {
	u, _ := user.Current()
	dir := t.TempDir()
	aliasFile := filepath.Join(dir, "aliases")
	os.WriteFile(aliasFile, []byte("# test aliases\npostmaster: "+u.Username+"\nTeam: postmaster,\n  "+u.Username+"\n"), 0o644)
	extra := fmt.Sprintf("alias_database = hash:%s\nalias_maps = hash:%s\n", aliasFile, aliasFile)
	cfgDir := t.TempDir()
	os.WriteFile(filepath.Join(cfgDir, "main.cf"), []byte(extra), 0o644)
	if _, e, code := runBin(t, "newaliases", "-c", cfgDir); code != 0 {
		t.Fatalf("newaliases: exit %d %s", code, e)
	}
	if out, _, code := runBin(t, "postern", "map", "-q", "team", "hash:"+aliasFile); code != 0 || out != "postmaster,"+u.Username+"\n" && out != "postmaster, "+u.Username+"\n" {
		t.Errorf("alias lookup: exit %d %q", code, out)
	}
	in, maildir := mailInstance(t, extra) // later lines win: these alias_maps replace the empty one
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	if err := smtp.SendMail(addr, nil, "app@client.example", []string{"team@mx.example.test"}, []byte("Subject: alias\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	files := waitFiles(t, filepath.Join(maildir, "new"), 1) // one copy, though the user is reached twice
	if !strings.Contains(files[0], "Subject: alias") {
		t.Errorf("delivered:\n%s", files[0])
	}
	waitLog(t, in, ": removed")
}

// Started as root with an unprivileged mail_owner, the daemon keeps a
// root process for local delivery only: mail reaches a mailbox directory
// that mail_owner could not write, owned by the recipient's identity.
func TestRootLocalDeliveryAgent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the local delivery agent process exists only when the daemon starts as root (CI runs as root)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	spool := t.TempDir() // root-owned, mode 0700 below: closed to nobody
	in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\n"+
		"home_mailbox =\nmail_spool_directory = %s/\nmail_owner = nobody", spool))
	testperm.OpenDirs(in.dir) // mail_owner reaches its queue through the test's directories
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	if err := smtp.SendMail(addr, nil, "app@client.example", []string{"root@mx.example.test"}, []byte("Subject: via agent\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	files := waitFiles(t, filepath.Join(spool, "root", "new"), 1)
	if !strings.Contains(files[0], "Subject: via agent") {
		t.Errorf("delivered:\n%s", files[0])
	}
	// The daemon itself runs as nobody, which cannot write the spool: the
	// agent process did it.
	pid, _ := os.ReadFile(filepath.Join(in.data, "postern.pid"))
	status, _ := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/status")
	if !strings.Contains(string(status), "\nUid:\t"+nobody.Uid+"\t") {
		t.Errorf("the daemon does not run as nobody:\n%s", status)
	}
	if st, err := os.Stat(spool); err != nil || st.Sys().(*syscall.Stat_t).Uid != 0 || st.Mode().Perm()&0o022 != 0 {
		t.Errorf("spool %s is not closed to nobody: %v %v", spool, st.Mode(), err)
	}
	// A reload reaches the agent process too.
	if _, e, code := in.run(t, "reload"); code != 0 {
		t.Fatalf("reload: %s", e)
	}
	if err := smtp.SendMail(addr, nil, "app@client.example", []string{"root@mx.example.test"}, []byte("Subject: after reload\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	waitFiles(t, filepath.Join(spool, "root", "new"), 2)
	if _, e, code := in.run(t, "stop"); code != 0 {
		t.Errorf("stop: %s", e)
	}
}

// maillog lines carry myhostname's first label as their host, as
// Postfix's maillog_file does (mx.example.test → "mx"), and syslog_name
// in front of the program names.
func TestMaillogHostIsMyhostname(t *testing.T) {
	in := newInstance(t, "inet_interfaces = 127.0.0.1")
	in.start(t)
	waitLog(t, in, " mx postern/master[")
	in.run(t, "stop")
	named := newInstance(t, "inet_interfaces = 127.0.0.1\nsyslog_name = postfix-out")
	named.start(t)
	waitLog(t, named, " mx postfix-out/master[")
}

// With direct_local_delivery (the default), the copy is in the Maildir
// and its whole story in the maillog by the time the client has its 250.
func TestDirectDeliveryBeforeReply(t *testing.T) {
	in, maildir := mailInstance(t, "")
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	for n := range 3 {
		if err := smtp.SendMail(addr, nil, "app@client.example", []string{rcpt}, []byte("Subject: direct\r\n\r\nhi\r\n")); err != nil {
			t.Fatal(err)
		}
		if entries, _ := os.ReadDir(filepath.Join(maildir, "new")); len(entries) != n+1 {
			t.Fatalf("after the 250 of message %d the Maildir holds %d", n+1, len(entries))
		}
	}
	var order []string
	for _, l := range strings.Split(in.maillog(t), "\n") {
		for _, step := range []string{"message-id=", "from=<app@", "status=sent", ": removed"} {
			if strings.Contains(l, step) {
				order = append(order, step)
			}
		}
	}
	want := strings.Repeat("message-id= from=<app@ status=sent : removed ", 3)
	if got := strings.Join(order, " ") + " "; got != want {
		t.Errorf("maillog steps %q, want %q:\n%s", got, want, in.maillog(t))
	}
}

// Once delivered, a message's content is nowhere readable in the queue
// directory, although its file stays there as a spare for the next one
// (scrubbed once its removal is synced, in the background within 10 ms
// of the removal: the test waits for it).
func TestDeliveredContentLeavesTheQueue(t *testing.T) {
	in, maildir := mailInstance(t, "direct_local_delivery = no\n")
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	body := []byte("Subject: private\r\n\r\n" + strings.Repeat("the delivered letter's text\r\n", 300))
	if o := sendSMTP(fmt.Sprintf("127.0.0.1:%d", in.port), rcpt, rcpt, body); !o.Queued {
		t.Fatalf("%s answered %q (%v)", o.Stage, o.Reply, o.Err)
	}
	waitFiles(t, filepath.Join(maildir, "new"), 1)
	in.waitQueueEmpty(t, 30*time.Second)
	waitLog(t, in, ": removed")
	var spares int
	var found []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		spares, found = 0, nil
		filepath.WalkDir(filepath.Join(in.dir, "queue"), func(path string, e os.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() {
				return nil
			}
			if strings.HasPrefix(e.Name(), "spare.") {
				spares++
			}
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("letter's text")) {
				found = append(found, path)
			}
			return nil
		})
		if len(found) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(found) > 0 {
		t.Errorf("delivered content readable in %v", found)
	}
	if spares != 1 {
		t.Errorf("%d spare files in the queue, want the delivered message's", spares)
	}
}
