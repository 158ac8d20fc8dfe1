package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// Mail for a virtual mailbox domain goes to virtual_transport (here the
// discard transport with a next hop, so the log shows the route); an
// unknown mailbox is refused at RCPT; mail for a virtual alias domain
// that nothing aliases bounces "User unknown in virtual alias table";
// sendmail -bv reports each class.
func TestVirtualClassesEndToEnd(t *testing.T) {
	tables := t.TempDir()
	vmailbox := filepath.Join(tables, "vmailbox")
	if err := os.WriteFile(vmailbox, []byte("alice@vmail.example vmail.example/alice/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, maildir := mailInstance(t, fmt.Sprintf("virtual_mailbox_domains = vmail.example\nvirtual_mailbox_maps = texthash:%s\n"+
		"virtual_transport = discard:via virtual_transport\nvirtual_alias_domains = valias.example\nrecipient_delimiter = +\n", vmailbox))
	u, _ := user.Current()
	local := u.Username + "@mx.example.test"
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	body := []byte("Subject: virtual\r\n\r\nhello\r\n")

	if out := sendSMTP(addr, local, "alice+box@vmail.example", body); !out.Queued {
		t.Fatalf("alice+box@vmail.example: %+v", out)
	}
	waitLog(t, in, "to=<alice+box@vmail.example>, relay=none, delay=")
	if log := in.maillog(t); !strings.Contains(log, "status=sent (via virtual_transport)") {
		t.Errorf("not delivered through virtual_transport:\n%s", log)
	}
	for rcpt, want := range map[string]string{
		"bob@vmail.example":   "550 5.1.1 <bob@vmail.example>: Recipient address rejected: User unknown in virtual mailbox table",
		"info@valias.example": "550 5.1.1 <info@valias.example>: Recipient address rejected: User unknown in virtual alias table",
	} {
		if out := sendSMTP(addr, local, rcpt, body); out.Stage != "RCPT" || out.Reply != want {
			t.Errorf("%s: %s %q, want RCPT %q", rcpt, out.Stage, out.Reply, want)
		}
	}

	// Local submission is not checked at RCPT: the resolver routes the
	// virtual alias class to the error transport, so it bounces.
	if _, e, code := sendmailRun(in, "Subject: to an alias domain\n\nhello\n", "-f", local, "info@valias.example"); code != 0 {
		t.Fatalf("sendmail: exit %d %s", code, e)
	}
	waitLog(t, in, "to=<info@valias.example>, relay=none")
	waitLog(t, in, "dsn=5.1.1, status=bounced (User unknown in virtual alias table)")
	bounce := waitFiles(t, filepath.Join(maildir, "new"), 1)[0]
	if !strings.Contains(bounce, "Undelivered Mail Returned to Sender") || !strings.Contains(bounce, "User unknown in virtual alias table") {
		t.Errorf("the bounce:\n%s", bounce)
	}
}

// sendmail -bv names each class's route and knows the virtual mailboxes.
func TestVerifyVirtualClasses(t *testing.T) {
	tables := t.TempDir()
	vmailbox := filepath.Join(tables, "vmailbox")
	os.WriteFile(vmailbox, []byte("alice@vmail.example vmail.example/alice/\n"), 0o644)
	// virtual_mailbox_base and the uid/gid tables: without them
	// postern check refuses the virtual mailbox class.
	in, maildir := mailInstance(t, fmt.Sprintf("virtual_mailbox_domains = vmail.example\nvirtual_mailbox_maps = texthash:%s\n"+
		"virtual_alias_domains = valias.example\nvirtual_mailbox_base = %s\nvirtual_uid_maps = static:5000\nvirtual_gid_maps = static:5000\n", vmailbox, tables))
	if out, e, code := sendmailRun(in, "", "-bv", "alice@vmail.example", "bob@vmail.example", "info@valias.example"); code != 0 || out != "" || e != "" {
		t.Fatalf("sendmail -bv: exit %d %q %q", code, out, e)
	}
	report := waitFiles(t, filepath.Join(maildir, "new"), 1)[0]
	for _, want := range []string{
		"<alice@vmail.example>: delivery via virtual: delivers to mailbox",
		`<bob@vmail.example>: unknown user: "bob@vmail.example"`,
		"<info@valias.example>: undeliverable: User unknown in virtual alias table",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}
