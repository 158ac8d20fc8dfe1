package main

import (
	"fmt"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/dovecottest"
)

// Two hosted domains handed to a real Dovecot over LMTP: postern takes
// one message for three mailboxes over SMTP, routes d1.test to Dovecot's
// socket by its absolute path and d2.test by a path relative to
// queue_directory (as "lmtp:unix:private/dovecot-lmtp" is written), and
// the mail is read back over IMAP with Python's imaplib. One mailbox is
// over its quota: Dovecot answers 452 for it alone after DATA, so it
// alone is deferred while the other two are delivered.
func TestLMTPToDovecot(t *testing.T) {
	dv := dovecottest.StartStore(t,
		dovecottest.User{Name: "alice@d1.test", Password: "pw-a"},
		dovecottest.User{Name: "full@d1.test", Password: "pw-f", QuotaKB: 1},
		dovecottest.User{Name: "bob@d2.test", Password: "pw-b"})
	dir := t.TempDir()
	transport := filepath.Join(dir, "transport")
	if err := os.WriteFile(transport, []byte("d1.test lmtp:unix:"+dv.Socket+"\nd2.test lmtp:unix:private/dovecot-lmtp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\n"+
		"transport_maps = texthash:"+transport+"\n")
	in.start(t)
	private := filepath.Join(in.dir, "queue", "private")
	if err := os.MkdirAll(private, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dv.Socket, filepath.Join(private, "dovecot-lmtp")); err != nil {
		t.Fatal(err)
	}

	// Over the 1 KB quota, well under the others'.
	body := "Subject: hosted\r\nMessage-ID: <lmtp-test@mx.example.test>\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 120)
	rcpts := []string{"alice@d1.test", "full@d1.test", "bob@d2.test"}
	if err := smtp.SendMail(fmt.Sprintf("127.0.0.1:%d", in.port), nil, "sender@example.net", rcpts, []byte(body)); err != nil {
		t.Fatal(err)
	}
	waitLog(t, in, "to=<bob@d2.test>")
	waitLog(t, in, "to=<full@d1.test>")
	waitLog(t, in, "to=<alice@d1.test>")
	log := in.maillog(t)
	sock := regexp.QuoteMeta(dv.Socket)
	for _, re := range []string{
		`postern/lmtp\[\d+\]: \w+: to=<alice@d1.test>, relay=mx\.example\.test\[` + sock + `\], delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 <alice@d1\.test> \S+ Saved\)`,
		`postern/lmtp\[\d+\]: \w+: to=<bob@d2.test>, relay=mx\.example\.test\[private/dovecot-lmtp\], delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 <bob@d2\.test> \S+ Saved\)`,
		`postern/lmtp\[\d+\]: \w+: to=<full@d1.test>, relay=mx\.example\.test\[` + sock + `\], delay=[\d.]+, delays=[\d./]+, dsn=4\.2\.2, status=deferred \(host mx\.example\.test\[` + sock + `\] said: 452 4\.2\.2 <full@d1\.test> Quota exceeded \(mailbox for user is full\) \(in reply to end of DATA command\)\)`,
	} {
		if !regexp.MustCompile(re).MatchString(log) {
			t.Errorf("maillog lacks %s:\n%s", re, log)
		}
	}
	for _, u := range []struct{ name, pw string }{{"alice@d1.test", "pw-a"}, {"bob@d2.test", "pw-b"}} {
		msgs := dv.IMAPMessages(t, u.name, u.pw)
		if len(msgs) != 1 || !strings.Contains(msgs[0], "Subject: hosted") || !strings.Contains(msgs[0], "Message-ID: <lmtp-test@mx.example.test>") {
			t.Errorf("%s's INBOX over IMAP: %d messages: %q", u.name, len(msgs), msgs)
		}
	}
	if msgs := dv.IMAPMessages(t, "full@d1.test", "pw-f"); len(msgs) != 0 {
		t.Errorf("full@d1.test's INBOX holds %d messages, want none", len(msgs))
	}
	if out, _, _ := in.run(t, "queue", "-p"); !strings.Contains(out, "full@d1.test") || strings.Contains(out, "alice@d1.test") || strings.Contains(out, "bob@d2.test") {
		t.Errorf("the queue should hold full@d1.test only:\n%s", out)
	}
}

// mailbox_transport: local(8) expands aliases, then hands the mailbox
// deliveries of mydestination's users to Dovecot over LMTP instead of
// writing them itself — through the root agent process, which lists
// them for the daemon to pass on. One mailbox over quota is deferred
// alone; nothing lands in mail_spool_directory. As in Postfix, lmtp
// logs each mailbox, an alias's members with orig_to=<alias>.
func TestMailboxTransportToDovecot(t *testing.T) {
	dv := dovecottest.StartStore(t,
		dovecottest.User{Name: "alice@mx.example.test", Password: "pw-a"},
		dovecottest.User{Name: "bob@mx.example.test", Password: "pw-b"},
		dovecottest.User{Name: "full@mx.example.test", Password: "pw-f", QuotaKB: 1})
	aliasFile := filepath.Join(t.TempDir(), "aliases")
	os.WriteFile(aliasFile, []byte("team: alice, bob\n"), 0o644)
	cfg := t.TempDir()
	os.WriteFile(filepath.Join(cfg, "main.cf"), []byte("alias_database = hash:"+aliasFile+"\n"), 0o644)
	if _, e, code := runBin(t, "newaliases", "-c", cfg); code != 0 {
		t.Fatalf("newaliases: exit %d %s", code, e)
	}
	in, spool := rootAgentInstance(t, "local_recipient_maps =\nmailbox_transport = lmtp:unix:"+dv.Socket+"\nalias_maps = hash:"+aliasFile+"\n")
	body := "Subject: local users\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 120)
	rcpts := []string{"alice@mx.example.test", "bob@mx.example.test", "full@mx.example.test"}
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	if err := smtp.SendMail(addr, nil, "sender@example.net", rcpts, []byte(body)); err != nil {
		t.Fatal(err)
	}
	for _, r := range rcpts {
		waitLog(t, in, "to=<"+r+">")
	}
	if err := smtp.SendMail(addr, nil, "sender@example.net", []string{"team@mx.example.test"}, []byte("Subject: team\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	waitLog(t, in, "orig_to=<team@mx.example.test>, relay=")
	waitLogCount(t, in, "orig_to=<team@mx.example.test>, relay=", 2)
	log := in.maillog(t)
	sock := regexp.QuoteMeta(dv.Socket)
	for _, re := range []string{
		`postern/lmtp\[\d+\]: \w+: to=<alice@mx.example.test>, relay=mx\.example\.test\[` + sock + `\], (conn_use=\d+, )?delay=[\d.]+, delays=[\d./]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 <alice@mx\.example\.test> \S+ Saved\)`,
		`postern/lmtp\[\d+\]: \w+: to=<full@mx.example.test>, relay=mx\.example\.test\[` + sock + `\], .*dsn=4\.2\.2, status=deferred \(host mx\.example\.test\[` + sock + `\] said: 452 4\.2\.2 <full@mx\.example\.test> Quota exceeded`,
		`postern/lmtp\[\d+\]: \w+: to=<alice@mx.example.test>, orig_to=<team@mx.example.test>, relay=mx\.example\.test\[` + sock + `\], .*status=sent`,
		`postern/lmtp\[\d+\]: \w+: to=<bob@mx.example.test>, orig_to=<team@mx.example.test>, relay=mx\.example\.test\[` + sock + `\], .*status=sent`,
	} {
		if !regexp.MustCompile(re).MatchString(log) {
			t.Errorf("maillog lacks %s:\n%s", re, log)
		}
	}
	if strings.Contains(log, "postern/local[") && regexp.MustCompile(`postern/local\[\d+\]: \w+: to=`).MatchString(log) {
		t.Errorf("local logged a mailbox delivery it passed on:\n%s", log)
	}
	for _, u := range []struct{ name, pw string }{{"alice@mx.example.test", "pw-a"}, {"bob@mx.example.test", "pw-b"}} {
		if msgs := dv.IMAPMessages(t, u.name, u.pw); len(msgs) != 2 || !strings.Contains(msgs[0]+msgs[1], "Subject: local users") || !strings.Contains(msgs[0]+msgs[1], "Subject: team") {
			t.Errorf("%s's INBOX over IMAP: %q", u.name, msgs)
		}
	}
	if entries, _ := os.ReadDir(spool); len(entries) != 0 {
		t.Errorf("mail_spool_directory holds %d entries, want none", len(entries))
	}
}
