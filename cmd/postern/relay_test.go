package main

import (
	"fmt"
	"net/smtp"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// The send-only deployment end to end: postern A (a.example.test, on
// 127.0.0.1) relays everything through relayhost = [127.0.0.2]:port,
// where postern B takes the message for its own domain and puts it in
// the user's Maildir — once.
func TestRelayhostToAnotherPostern(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	spool := t.TempDir()
	b := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.2\nmynetworks = 127.0.0.0/8\nalias_maps =\n"+
		"home_mailbox =\nmail_spool_directory = %s/\n", spool))
	b.start(t)
	a := newInstance(t, fmt.Sprintf("myhostname = a.example.test\nmydestination = a.example.test\n"+
		"inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.2]:%d\n", b.port))
	a.start(t)
	rcpt := u.Username + "@mx.example.test"
	msg := "Subject: relayed\r\nMessage-ID: <relay-test@a.example.test>\r\n\r\nthrough the smarthost\r\n"
	if err := smtp.SendMail(fmt.Sprintf("127.0.0.1:%d", a.port), nil, "app@a.example.test", []string{rcpt}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	files := waitFiles(t, filepath.Join(spool, u.Username, "new"), 1)
	got := files[0]
	for _, want := range []string{"Subject: relayed", "by a.example.test (postern) with ", "by mx.example.test (postern) with "} {
		if !strings.Contains(got, want) {
			t.Errorf("B's copy lacks %q:\n%s", want, got)
		}
	}
	waitLog(t, a, ": removed")
	if log := a.maillog(t); !strings.Contains(log, fmt.Sprintf("to=<%s>, relay=127.0.0.2[127.0.0.2]:%d, delay=", rcpt, b.port)) ||
		!strings.Contains(log, "status=sent (250 2.0.0 Ok: queued as ") {
		t.Errorf("A's log:\n%s", log)
	}
	if entries, _ := os.ReadDir(filepath.Join(spool, u.Username, "new")); len(entries) != 1 {
		t.Errorf("B's Maildir holds %d messages, want 1", len(entries))
	}
}

// A relay that is down: mail is deferred with the connection error, then
// delivered once it comes back (postern queue -f); a message that waits
// longer than maximal_queue_lifetime is returned to its sender with a
// delivery status notification.
func TestDownRelayDefersThenDeliversOrExpires(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	spoolA, spoolB := t.TempDir(), t.TempDir()
	bPort := freePort(t)
	a := newInstance(t, fmt.Sprintf("myhostname = a.example.test\nmydestination = a.example.test\n"+
		"inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.2]:%d\nalias_maps =\n"+
		"home_mailbox =\nmail_spool_directory = %s/\nminimal_backoff_time = 1s\nmaximal_backoff_time = 1s\n"+
		"queue_run_delay = 1s\nmaximal_queue_lifetime = 1h\n", bPort, spoolA))
	a.start(t)
	sender := u.Username + "@a.example.test"
	send := func(subject string) {
		t.Helper()
		msg := "Subject: " + subject + "\r\n\r\nhello\r\n"
		if err := smtp.SendMail(fmt.Sprintf("127.0.0.1:%d", a.port), nil, sender, []string{u.Username + "@mx.example.test"}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	send("waits for the relay")
	waitLog(t, a, "relay=none, delay=")
	waitLog(t, a, fmt.Sprintf("status=deferred (connect to 127.0.0.2[127.0.0.2]:%d: Connection refused)", bPort))
	if out, _, _ := a.run(t, "queue", "-p"); !strings.Contains(out, "(connect to 127.0.0.2[127.0.0.2]") {
		t.Errorf("mailq does not show the reason:\n%s", out)
	}

	// The relay comes back.
	b := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.2\nmynetworks = 127.0.0.0/8\nalias_maps =\n"+
		"home_mailbox =\nmail_spool_directory = %s/\n", spoolB))
	b.port = bPort
	os.WriteFile(filepath.Join(b.dir, "master.cf"), []byte(fmt.Sprintf("%d inet n - n - - smtpd\n", bPort)), 0o644)
	b.start(t)
	a.run(t, "queue", "-f")
	waitFiles(t, filepath.Join(spoolB, u.Username, "new"), 1)
	waitLog(t, a, "status=sent (250 2.0.0 Ok: queued as ")

	// Too old: returned to the sender, who is local to A.
	a.writeMain(t, fmt.Sprintf("myhostname = a.example.test\nmydestination = a.example.test\n"+
		"inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.3]:%d\nalias_maps =\n"+
		"home_mailbox =\nmail_spool_directory = %s/\nminimal_backoff_time = 1s\nmaximal_backoff_time = 1s\n"+
		"queue_run_delay = 1s\nmaximal_queue_lifetime = 2s\n", bPort, spoolA))
	if _, e, code := a.run(t, "reload"); code != 0 {
		t.Fatal(e)
	}
	send("expires")
	files := waitFiles(t, filepath.Join(spoolA, u.Username, "new"), 1)
	for _, want := range []string{"Subject: Undelivered Mail Returned to Sender", "report-type=delivery-status",
		"Action: failed", "Final-Recipient: rfc822; " + u.Username + "@mx.example.test", "Subject: expires"} {
		if !strings.Contains(files[0], want) {
			t.Errorf("the notice lacks %q:\n%s", want, files[0])
		}
	}
	waitLog(t, a, "status=expired, returned to sender (connect to 127.0.0.3[127.0.0.3]")
}
