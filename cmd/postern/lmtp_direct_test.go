package main

import (
	"fmt"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dovecottest"
)

// directLMTPInstance is a postern that hands d1.test to dv over LMTP
// (direct_lmtp_delivery at its default), and the Maildir of user@d1.test.
func directLMTPInstance(t *testing.T, dv *dovecottest.Dovecot, extra string) (*instance, func(user string) string) {
	t.Helper()
	transport := filepath.Join(t.TempDir(), "transport")
	if err := os.WriteFile(transport, []byte("d1.test lmtp:unix:"+dv.Socket+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\n"+
		"transport_maps = texthash:"+transport+"\n"+extra)
	in.start(t)
	return in, func(user string) string { return filepath.Join(dv.Dir, "vmail", "d1.test", user) }
}

// newCount is the number of messages in a Maildir's new/.
func newCount(maildir string) int {
	entries, _ := os.ReadDir(filepath.Join(maildir, "new"))
	return len(entries)
}

// With direct_lmtp_delivery (the default), a message for Dovecot is in
// the mailbox, and its whole story in the maillog, by the time the
// client has its 250; it never gets a queue file. A message for three
// mailboxes of which one is over quota: the two others are delivered
// directly, and only the full one is queued, and deferred there — the
// two accepted by Dovecot are not delivered again by the queue.
func TestDirectLMTPBeforeReply(t *testing.T) {
	dv := dovecottest.StartStore(t,
		dovecottest.User{Name: "alice@d1.test", Password: "pw-a"},
		dovecottest.User{Name: "bob@d1.test", Password: "pw-b"},
		dovecottest.User{Name: "full@d1.test", Password: "pw-f", QuotaKB: 1})
	in, maildir := directLMTPInstance(t, dv, "")
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	for n := range 3 {
		if err := smtp.SendMail(addr, nil, "app@client.example", []string{"alice@d1.test"}, []byte("Subject: direct\r\n\r\nhi\r\n")); err != nil {
			t.Fatal(err)
		}
		if got := newCount(maildir("alice")); got != n+1 {
			t.Fatalf("after the 250 of message %d alice's Maildir holds %d", n+1, got)
		}
		if got := strings.Count(in.maillog(t), "status=sent (250 2.0.0 <alice@d1.test> "); got != n+1 {
			t.Fatalf("after the 250 of message %d the maillog shows %d deliveries:\n%s", n+1, got, in.maillog(t))
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
	if got, want := strings.Join(order, " ")+" ", strings.Repeat("message-id= from=<app@ status=sent : removed ", 3); got != want {
		t.Errorf("maillog steps %q, want %q:\n%s", got, want, in.maillog(t))
	}
	sock := regexp.QuoteMeta(dv.Socket)
	sent := `postern/lmtp\[\d+\]: (\w+): to=<alice@d1.test>, relay=mx\.example\.test\[` + sock + `\](, conn_use=\d+)?, delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 <alice@d1\.test> \S+ Saved\)`
	if n := len(regexp.MustCompile(sent).FindAllString(in.maillog(t), -1)); n != 3 {
		t.Errorf("maillog has %d lines like %s, want 3:\n%s", n, sent, in.maillog(t))
	}
	if msgs := dv.IMAPMessages(t, "alice@d1.test", "pw-a"); len(msgs) != 3 || !strings.Contains(msgs[2], "Subject: direct") {
		t.Errorf("alice's INBOX over IMAP: %q", msgs)
	}

	// Over the 1 KB quota, well under the others'.
	body := "Subject: partly\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 120)
	if err := smtp.SendMail(addr, nil, "app@client.example", []string{"alice@d1.test", "full@d1.test", "bob@d1.test"}, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if a, b := newCount(maildir("alice")), newCount(maildir("bob")); a != 4 || b != 1 {
		t.Fatalf("after the 250 alice's Maildir holds %d (want 4), bob's %d (want 1)", a, b)
	}
	waitLog(t, in, "to=<full@d1.test>")
	log := in.maillog(t)
	full := regexp.MustCompile(`postern/lmtp\[\d+\]: (\w+): to=<full@d1.test>, relay=mx\.example\.test\[` + sock + `\].*, dsn=4\.2\.2, status=deferred \(host mx\.example\.test\[` + sock + `\] said: 452 4\.2\.2 <full@d1\.test> Quota exceeded`).FindStringSubmatch(log)
	if full == nil {
		t.Fatalf("full@d1.test not deferred for its quota:\n%s", log)
	}
	id := full[1]
	// One queue ID: the direct attempt's lines, then the queue's with the
	// recipient left.
	for _, want := range []string{
		id + ": from=<app@client.example>, size=", "nrcpt=3 (queue active)",
		id + ": to=<alice@d1.test>, relay=", id + ": to=<bob@d1.test>, relay=",
		id + ": from=<app@client.example>, size=", "nrcpt=1 (queue active)",
	} {
		i := strings.Index(log, want)
		if i < 0 {
			t.Fatalf("maillog lacks %q after the steps before it:\n%s", want, in.maillog(t))
		}
		log = log[i+len(want):]
	}
	out, _, _ := in.run(t, "queue", "-p")
	if !strings.Contains(out, "full@d1.test") || strings.Contains(out, "alice@d1.test") || strings.Contains(out, "bob@d1.test") {
		t.Errorf("the queue should hold full@d1.test only:\n%s", out)
	}
	// The queue's attempt delivered nothing again.
	if n := strings.Count(in.maillog(t), "to=<alice@d1.test>"); n != 4 {
		t.Errorf("%d deliveries to alice logged, want 4", n)
	}
	if a, b := newCount(maildir("alice")), newCount(maildir("bob")); a != 4 || b != 1 {
		t.Errorf("alice's Maildir holds %d (want 4), bob's %d (want 1)", a, b)
	}
	if msgs := dv.IMAPMessages(t, "full@d1.test", "pw-f"); len(msgs) != 0 {
		t.Errorf("full@d1.test's INBOX holds %d messages, want none", len(msgs))
	}
}

// With Dovecot down, the message is answered 250 all the same: the
// direct attempt fails to connect, so it is queued, and deferred there;
// once Dovecot is back, the next attempt delivers it, once.
func TestDirectLMTPServerDown(t *testing.T) {
	dv := dovecottest.StartStore(t, dovecottest.User{Name: "alice@d1.test", Password: "pw-a"})
	in, maildir := directLMTPInstance(t, dv, "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\n")
	dv.Stop()
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	if err := smtp.SendMail(addr, nil, "app@client.example", []string{"alice@d1.test"}, []byte("Subject: later\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	waitLog(t, in, "status=deferred")
	if out, _, _ := in.run(t, "queue", "-p"); !strings.Contains(out, "alice@d1.test") {
		t.Fatalf("the message is not in the queue:\n%s\n%s", out, in.maillog(t))
	}
	dv.Run(t)
	waitLog(t, in, "status=sent (250 2.0.0 <alice@d1.test>")
	in.waitQueueEmpty(t, 30*time.Second)
	// One from= line per attempt of the queue's: a failed direct
	// attempt logs nothing.
	log := in.maillog(t)
	if from, to := strings.Count(log, ": from=<app@client.example>"), strings.Count(log, ": to=<alice@d1.test>"); from != to {
		t.Errorf("%d from= lines for %d deliveries:\n%s", from, to, log)
	}
	if n := newCount(maildir("alice")); n != 1 {
		t.Errorf("alice's Maildir holds %d, want 1", n)
	}
}

// The daemon is killed with SIGKILL at random moments while clients send
// numbered messages that go directly to Dovecot over LMTP: every message
// answered 250 is in the mailbox. A message Dovecot took just before the
// kill may be delivered again by the queue (an attempt whose outcome the
// daemon had not recorded), as with Postfix's lmtp: those are counted,
// not failed.
func TestDirectLMTPCrashLosesNoAcceptedMessage(t *testing.T) {
	becomeSubreaper(t)
	kills := 10
	if testing.Short() {
		kills = 5
	}
	dv := dovecottest.StartStore(t, dovecottest.User{Name: "alice@d1.test", Password: "pw-a"})
	in, maildir := directLMTPInstance(t, dv, "")
	crashRunDups(t, in, "alice@d1.test", maildir("alice"), kills, true)
}
