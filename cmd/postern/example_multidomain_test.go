package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/dovecottest"
	"github.com/postern-mta/postern/internal/sqltest"
)

// examples/multi-domain with a private PostgreSQL (postfixadmin's
// domain, mailbox and alias tables, the role and password of the
// example's pgsql-*.cf files) and a private Dovecot mail store: postern
// check passes, one message for mailboxes of two hosted domains goes
// over LMTP to Dovecot and is read back over IMAP, as is one for an
// alias whose goto names both mailboxes, and a mailbox the table
// does not hold (or an inactive one) is refused at RCPT with Postfix's
// 550, a domain it does not hold with 454 Relay access denied.
// Test-only changes: loopback, mynetworks only 127.0.0.1 (the message
// comes from 127.0.0.2, a stranger), the database's socket directory
// for /run/postgresql, free ports for smtp and submission, and
// $queue_directory/private/dovecot-lmtp a link to the store's socket.
func TestExampleMultiDomain(t *testing.T) {
	pg := sqltest.StartPostgres(t)
	pg.Exec(t, "postgres", "CREATE ROLE postfix LOGIN PASSWORD 'change-me'", "CREATE DATABASE postfix")
	pg.Exec(t, "postfix",
		// postfixadmin's tables, the columns these lookups read and a few more
		"CREATE TABLE domain (domain VARCHAR(255) PRIMARY KEY, description VARCHAR(255) NOT NULL DEFAULT '', active BOOLEAN NOT NULL DEFAULT true)",
		"CREATE TABLE mailbox (username VARCHAR(255) PRIMARY KEY, password VARCHAR(255) NOT NULL DEFAULT '', name VARCHAR(255) NOT NULL DEFAULT '', "+
			"maildir VARCHAR(255) NOT NULL, quota BIGINT NOT NULL DEFAULT 0, local_part VARCHAR(255) NOT NULL, domain VARCHAR(255) NOT NULL REFERENCES domain, "+
			"active BOOLEAN NOT NULL DEFAULT true)",
		"INSERT INTO domain (domain) VALUES ('example.com'), ('example.net')",
		"INSERT INTO domain (domain, active) VALUES ('gone.example', false)",
		"INSERT INTO mailbox (username, maildir, local_part, domain) VALUES "+
			"('alice@example.com', 'example.com/alice/', 'alice', 'example.com'), ('bob@example.net', 'example.net/bob/', 'bob', 'example.net')",
		"INSERT INTO mailbox (username, maildir, local_part, domain, active) VALUES ('old@example.com', 'example.com/old/', 'old', 'example.com', false)",
		"CREATE TABLE alias (address VARCHAR(255) PRIMARY KEY, goto TEXT NOT NULL, domain VARCHAR(255) NOT NULL REFERENCES domain, active BOOLEAN NOT NULL DEFAULT true)",
		// postfixadmin gives each mailbox an alias to itself
		"INSERT INTO alias (address, goto, domain) VALUES ('alice@example.com', 'alice@example.com', 'example.com'), "+
			"('bob@example.net', 'bob@example.net', 'example.net'), ('team@example.com', 'alice@example.com,bob@example.net', 'example.com')",
		"GRANT SELECT ON domain, mailbox, alias TO postfix")
	dv := dovecottest.StartStore(t,
		dovecottest.User{Name: "alice@example.com", Password: "pw-a"},
		dovecottest.User{Name: "bob@example.net", Password: "pw-b"})

	in := exampleInstance(t, "multi-domain", map[string]string{"inet_interfaces": "127.0.0.1", "mynetworks": "127.0.0.1/32"})
	exampleCert(t, in, "mx.example.org")
	files, _ := filepath.Glob(filepath.Join(in.dir, "pgsql-*.cf"))
	if len(files) != 4 {
		t.Fatalf("pgsql-*.cf: %v", files)
	}
	for _, f := range append(files, filepath.Join(in.dir, "master.cf")) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "unix:/run/postgresql", "unix:"+pg.SockDir)
		text = regexp.MustCompile(`(?m)^submission(\s+inet)`).ReplaceAllString(text, fmt.Sprint(freePort(t))+"$1")
		if err := os.WriteFile(f, []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	checkClean(t, in)
	in.start(t)
	private := filepath.Join(filepath.Dir(filepath.Dir(in.dir)), "spool", "private")
	if err := os.MkdirAll(private, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dv.Socket, filepath.Join(private, "dovecot-lmtp")); err != nil {
		t.Fatal(err)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	for rcpt, want := range map[string]string{
		"carol@example.com": "550 5.1.1 <carol@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
		"old@example.com":   "550 5.1.1 <old@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
	} {
		if out := sendSMTP(addr, "sender@example.org", rcpt, []byte("Subject: x\r\n\r\nx\r\n")); out.Stage != "RCPT" || out.Reply != want {
			t.Errorf("%s: %s %q, want RCPT %q", rcpt, out.Stage, out.Reply, want)
		}
	}
	c := dialSMTPFrom(t, "127.0.0.2", addr) // a stranger, as a sending MX
	c.expect("220 mx.example.org ESMTP")
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<sender@example.org>", "250 ")
	c.cmd("RCPT TO:<alice@example.com>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("RCPT TO:<someone@gone.example>", "454 4.7.1 <someone@gone.example>: Relay access denied")
	c.cmd("DATA", "354 ")
	c.cmd("Subject: hosted\r\nMessage-ID: <multi-domain@example.org>\r\n\r\nfor two domains\r\n.", "250 ")
	c.cmd("MAIL FROM:<sender@example.org>", "250 ")
	c.cmd("RCPT TO:<team@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.cmd("Subject: to the team\r\nMessage-ID: <team@example.org>\r\n\r\nfor an alias\r\n.", "250 ")
	c.cmd("QUIT", "221 ")

	waitLogCount(t, in, "to=<alice@example.com>", 2)
	waitLogCount(t, in, "to=<bob@example.net>", 2)
	log := in.maillog(t)
	for _, r := range []string{"alice@example.com", "bob@example.net"} {
		for _, orig := range []string{"", `orig_to=<team@example\.com>, `} {
			re := `postern/lmtp\[\d+\]: \w+: to=<` + regexp.QuoteMeta(r) + `>, ` + orig + `relay=mx\.example\.org\[private/dovecot-lmtp\], .*dsn=2\.0\.0, status=sent \(250 2\.0\.0 <` + regexp.QuoteMeta(r) + `> \S+ Saved\)`
			if !regexp.MustCompile(re).MatchString(log) {
				t.Errorf("maillog lacks %s:\n%s", re, log)
			}
		}
	}
	for _, u := range []struct{ name, pw string }{{"alice@example.com", "pw-a"}, {"bob@example.net", "pw-b"}} {
		msgs := dv.IMAPMessages(t, u.name, u.pw)
		if len(msgs) != 2 || !strings.Contains(strings.Join(msgs, ""), "Message-ID: <multi-domain@example.org>") ||
			!strings.Contains(strings.Join(msgs, ""), "Message-ID: <team@example.org>") {
			t.Errorf("%s's INBOX over IMAP: %d messages, want the two: %q", u.name, len(msgs), msgs)
		}
	}
	if strings.Contains(log, "change-me") {
		t.Errorf("the maillog shows the database password:\n%s", log)
	}
}
