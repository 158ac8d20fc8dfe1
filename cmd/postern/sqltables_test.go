package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/sqltest"
)

const sqlE2EPassword = "e2e-S3cret-pw-plugh"

// SQL lookup tables through the daemon, against a private PostgreSQL
// cluster: check_recipient_access and smtpd_sender_login_maps answer per
// the database; with the database stopped, RCPT gets Postfix's
// temporary failures (451 4.3.5 for an access table, 451 4.3.0 for the
// sender login table), never an accept or a 5xx, and the maillog names
// the table but never the password; once the database is back, mail is
// accepted again. postern map -q queries the same table files.
func TestSQLTablesSMTPD(t *testing.T) {
	pg := sqltest.StartPostgres(t)
	pg.Exec(t, "postgres", "CREATE ROLE postern LOGIN PASSWORD '"+sqlE2EPassword+"'", "CREATE DATABASE mail")
	pg.Exec(t, "mail",
		"CREATE TABLE access (address VARCHAR(255), action VARCHAR(255))",
		"INSERT INTO access VALUES ('blocked@mx.example.test', 'REJECT no such mailbox here')",
		"CREATE TABLE mailbox (username VARCHAR(255), owner VARCHAR(255))",
		"INSERT INTO mailbox VALUES ('ceo@mx.example.test', 'alice@example.test')",
		"GRANT SELECT ON access, mailbox TO postern")
	u, err := user.Current()
	if err != nil {
		t.Skip(err)
	}
	in := newInstance(t, "")
	header := fmt.Sprintf("hosts = unix:%s\nuser = postern\npassword = %s\ndbname = mail\nretry_interval = 1\n", pg.SockDir, sqlE2EPassword)
	access := filepath.Join(in.dir, "pgsql-access.cf")
	owners := filepath.Join(in.dir, "pgsql-owners.cf")
	for path, query := range map[string]string{
		access: "SELECT action FROM access WHERE address = '%s'",
		owners: "SELECT owner FROM mailbox WHERE username = '%s'",
	} {
		if err := os.WriteFile(path, []byte(header+"query = "+query+"\n"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	in.writeMain(t, "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\nlocal_recipient_maps =\n"+
		"smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = passwd-file\nsmtpd_sasl_path = users\nsmtpd_tls_auth_only = no\n"+
		"smtpd_sender_login_maps = proxy:pgsql:"+owners+"\n"+
		"smtpd_sender_restrictions = reject_unauthenticated_sender_login_mismatch\n"+
		"smtpd_recipient_restrictions = check_recipient_access proxy:pgsql:"+access+", permit_mynetworks, reject_unauth_destination\n")
	if _, e, code := runPasswdBin(t, "s3cret-pw\n", "-c", in.dir, "alice@example.test"); code != 0 {
		t.Fatalf("postern passwd: exit %d %s", code, e)
	}
	if out, e, code := in.run(t, "check"); code != 0 {
		t.Fatalf("postern check: exit %d\n%s%s", code, out, e)
	}
	// postern map -q, as postmap -q.
	if out, e, code := runBin(t, "postern", "map", "-q", "blocked@mx.example.test", "pgsql:"+access); code != 0 || out != "REJECT no such mailbox here\n" {
		t.Fatalf("postern map -q: exit %d, %q %q", code, out, e)
	}
	if out, _, code := runBin(t, "postern", "map", "-q", "nobody@mx.example.test", "pgsql:"+access); code != 1 || out != "" {
		t.Fatalf("postern map -q (not found): exit %d, %q", code, out)
	}
	in.start(t)
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	me := u.Username + "@mx.example.test"

	c := dialSMTP(t, addr)
	c.expect("220 ")
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<bob@client.example>", "250 ")
	c.cmd("RCPT TO:<blocked@mx.example.test>", "554 5.7.1 <blocked@mx.example.test>: Recipient address rejected: no such mailbox here")
	c.cmd("RCPT TO:<"+me+">", "250 ")
	c.cmd("RSET", "250 ")
	c.cmd("MAIL FROM:<ceo@mx.example.test>", "250 ")
	c.cmd("RCPT TO:<"+me+">", "553 5.7.1 <ceo@mx.example.test>: Sender address rejected: not logged in")
	c.cmd("QUIT", "221 ")

	// Addresses not asked before (answers are cached for a few seconds).
	pg.Stop()
	c = dialSMTP(t, addr)
	c.expect("220 ")
	c.cmd("EHLO client.example", "250 ")
	c.cmd("MAIL FROM:<>", "250 ") // no sender login lookup for the null sender
	c.cmd("RCPT TO:<other@mx.example.test>", "451 4.3.5 <other@mx.example.test>: Recipient address rejected: Server configuration error")
	c.cmd("RSET", "250 ")
	c.cmd("MAIL FROM:<cfo@mx.example.test>", "250 ")
	c.cmd("RCPT TO:<"+me+">", "451 4.3.0 <cfo@mx.example.test>: Temporary lookup failure")
	c.cmd("QUIT", "221 ")
	waitLog(t, in, "warning: proxy:pgsql:"+access+" lookup error: table proxy:pgsql:"+access+": unix:"+pg.SockDir+": ")
	waitLog(t, in, "proxy:pgsql:"+owners)
	if log := in.maillog(t); strings.Contains(log, sqlE2EPassword) || strings.Contains(log, "plugh") {
		t.Errorf("the maillog shows the database password:\n%s", log)
	}
	_, e, code := runBin(t, "postern", "map", "-q", "blocked@mx.example.test", "pgsql:"+access)
	if code == 0 || !strings.Contains(e, "pgsql:"+access) || strings.Contains(e, "plugh") {
		t.Errorf("postern map -q with the database down: exit %d, %q", code, e)
	}

	// Back up: the server is tried again after retry_interval.
	pg.Start(t)
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		c = dialSMTP(t, addr)
		c.expect("220 ")
		c.cmd("EHLO client.example", "250 ")
		c.cmd(fmt.Sprintf("MAIL FROM:<sender%d@client.example>", i), "250 ")
		c.c.Write(fmt.Appendf(nil, "RCPT TO:<new%d@mx.example.test>\r\n", i))
		c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, line, err := readReply(c.br)
		c.c.Close()
		if err == nil && strings.HasPrefix(line, "250 ") {
			break
		}
		if err != nil || !strings.HasPrefix(line, "451 ") || time.Now().After(deadline) {
			t.Fatalf("after the restart: %q %v", line, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A postfixadmin-style server on PostgreSQL: virtual mailbox domains and
// mailboxes from pgsql: tables (proxy:, as the guides set them). Mail
// to a mailbox goes to virtual_transport, an unknown or inactive mailbox
// is refused at RCPT, and while the database is down RCPT gets 451
// 4.3.0: never a 550 or an accept, and mail submitted locally waits in
// the queue (deferred). (virtual_alias_maps joins once
// virtual alias expansion is merged.)
func TestSQLVirtualClasses(t *testing.T) {
	pg := sqltest.StartPostgres(t)
	pg.Exec(t, "postgres", "CREATE ROLE postfix LOGIN PASSWORD '"+sqlE2EPassword+"'", "CREATE DATABASE postfix")
	pg.Exec(t, "postfix",
		"CREATE TABLE domain (domain VARCHAR(255), active BOOLEAN)",
		"CREATE TABLE mailbox (username VARCHAR(255), maildir VARCHAR(255), active BOOLEAN)",
		"INSERT INTO domain VALUES ('example.com', true), ('example.net', true)",
		"INSERT INTO mailbox VALUES ('alice@example.com', 'example.com/alice/', true), ('old@example.com', 'example.com/old/', false)",
		"GRANT SELECT ON domain, mailbox TO postfix")
	tables := t.TempDir()
	header := fmt.Sprintf("hosts = unix:%s\nuser = postfix\npassword = %s\ndbname = postfix\n", pg.SockDir, sqlE2EPassword)
	cf := func(name, query string) string {
		p := filepath.Join(tables, name)
		if err := os.WriteFile(p, []byte(header+"query = "+query+"\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		return p
	}
	domains := cf("pgsql_virtual_domains_maps.cf", "SELECT domain FROM domain WHERE domain='%s' AND active = '1'")
	mailboxes := cf("pgsql_virtual_mailbox_maps.cf", "SELECT maildir FROM mailbox WHERE username='%s' AND active = '1'")
	in, _ := mailInstance(t, fmt.Sprintf("virtual_mailbox_domains = proxy:pgsql:%s\nvirtual_mailbox_maps = proxy:pgsql:%s\n"+
		"virtual_transport = discard:via virtual_transport\n", domains, mailboxes))
	u, _ := user.Current()
	local := u.Username + "@mx.example.test"
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	body := []byte("Subject: virtual\r\n\r\nhello\r\n")

	for _, rcpt := range []string{"alice@example.com", "Alice@Example.COM"} {
		if out := sendSMTP(addr, local, rcpt, body); !out.Queued {
			t.Fatalf("%s: %+v", rcpt, out)
		}
	}
	waitLogCount(t, in, "status=sent (via virtual_transport)", 2)
	for rcpt, want := range map[string]string{
		"bob@example.com": "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
		"old@example.com": "550 5.1.1 <old@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
	} {
		if out := sendSMTP(addr, local, rcpt, body); out.Stage != "RCPT" || out.Reply != want {
			t.Errorf("%s: %s %q, want RCPT %q", rcpt, out.Stage, out.Reply, want)
		}
	}

	pg.Stop()
	out := sendSMTP(addr, local, "carol@example.com", body)
	if out.Stage != "RCPT" || !strings.HasPrefix(out.Reply, "451 4.3.0 <carol@example.com>: ") {
		t.Errorf("with the database down: %s %q, want RCPT 451 4.3.0", out.Stage, out.Reply)
	}
	// A local submission (not checked at RCPT) waits in the queue.
	if _, e, code := sendmailRun(in, "Subject: while down\n\nhello\n", "-f", local, "dave@example.net"); code != 0 {
		t.Fatalf("sendmail: exit %d %s", code, e)
	}
	waitLog(t, in, "to=<dave@example.net>, relay=none")
	if log := in.maillog(t); !regexp.MustCompile(`to=<dave@example\.net>, relay=none, .*dsn=4\.[0-9.]+, status=deferred`).MatchString(log) {
		t.Errorf("dave@example.net with the database down is not deferred:\n%s", log)
	}
	if log := in.maillog(t); strings.Contains(log, "plugh") {
		t.Errorf("the maillog shows the database password:\n%s", log)
	}
}
