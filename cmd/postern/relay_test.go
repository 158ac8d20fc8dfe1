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
