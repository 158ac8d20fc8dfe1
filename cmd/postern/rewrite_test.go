package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A virtual alias expands, whatever the recipient's class, to two local
// users and a remote address: each gets one copy, the remote one
// through relayhost (a sink), and each delivery logs the alias as
// orig_to=. A recipient of the alias domain that nothing aliases is still
// refused at RCPT.
func TestVirtualAliasExpansionEndToEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("delivers to a second local user: needs root")
	}
	u, _ := user.Current()
	sink := startSink(t)
	tables := t.TempDir()
	virtual := filepath.Join(tables, "virtual")
	if err := os.WriteFile(virtual, []byte(fmt.Sprintf("team@valias.example %s@mx.example.test, daemon, far@remote.example\n"+
		"loop@valias.example loop2@valias.example\nloop2@valias.example loop@valias.example\n"+
		"big@valias.example a@remote.example, b@remote.example, c@remote.example, d@remote.example\n", u.Username)), 0o644); err != nil {
		t.Fatal(err)
	}
	in, maildir := mailInstance(t, fmt.Sprintf("virtual_alias_domains = valias.example\nvirtual_alias_maps = texthash:%s\n"+
		"virtual_alias_message_limit = 3\n"+
		"relayhost = [127.0.0.1]:%d\n", virtual, sink.port))
	spool := filepath.Dir(maildir)
	if err := os.Chmod(spool, 0o1777); err != nil { // daemon creates its own maildir
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	if out := sendSMTP(addr, u.Username+"@mx.example.test", "team@valias.example", []byte("Subject: team\r\n\r\nhello\r\n")); !out.Queued {
		t.Fatalf("team@valias.example: %+v", out)
	}
	waitFiles(t, filepath.Join(maildir, "new"), 1)
	waitFiles(t, filepath.Join(spool, "daemon", "new"), 1)
	select {
	case m := <-sink.got:
		if !strings.Contains(string(m.data), "Subject: team") {
			t.Errorf("the relayed copy:\n%s", m.data)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("nothing relayed to the sink")
	}
	for _, to := range []string{u.Username + "@mx.example.test", "daemon@mx.example.test", "far@remote.example"} {
		waitLog(t, in, fmt.Sprintf("to=<%s>, orig_to=<team@valias.example>, relay=", to))
	}

	// An alias loop is not accepted: 451, and cleanup says why.
	if out := sendSMTP(addr, u.Username+"@mx.example.test", "loop@valias.example", []byte("Subject: loop\r\n\r\nhello\r\n")); out.Queued ||
		out.Reply != "451 4.6.0 Alias expansion error" {
		t.Errorf("loop: %+v", out)
	}
	waitLog(t, in, "unreasonable virtual_alias_maps map nesting for loop@valias.example -- message not accepted, try again later")

	// More recipients than virtual_alias_message_limit (postern only):
	// not accepted either.
	if out := sendSMTP(addr, u.Username+"@mx.example.test", "big@valias.example", []byte("Subject: big\r\n\r\nhello\r\n")); out.Queued ||
		out.Reply != "451 4.6.0 Alias expansion error" {
		t.Errorf("over virtual_alias_message_limit: %+v", out)
	}
	waitLog(t, in, "more than 3 recipients (virtual_alias_message_limit) -- message not accepted, try again later")

	if out := sendSMTP(addr, u.Username+"@mx.example.test", "info@valias.example", []byte("Subject: x\r\n\r\nhello\r\n")); out.Stage != "RCPT" ||
		!strings.Contains(out.Reply, "User unknown in virtual alias table") {
		t.Errorf("unknown alias: %+v", out)
	}
}

// sendmail's envelope sender and From: header go through
// sender_canonical_maps and masquerading, as every message's do in
// cleanup; over SMTP, the headers of a client on one of our own
// addresses (local_header_rewrite_clients = permit_inet_interfaces) are
// rewritten too, and nobody else's.
func TestSenderCanonicalSendmail(t *testing.T) {
	u, _ := user.Current()
	tables := t.TempDir()
	canon := filepath.Join(tables, "sender_canonical")
	if err := os.WriteFile(canon, []byte("@host.mx.example.test @mx.example.test\nwho@mx.example.test First.Last@host.mx.example.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, maildir := mailInstance(t, fmt.Sprintf("sender_canonical_maps = texthash:%s\nmasquerade_domains = example.test\n", canon))
	if _, e, code := sendmailRun(in, "From: Who <who@mx.example.test>\nTo: someone@elsewhere.example\nSubject: canonical\n\nhello\n",
		"-f", "who@mx.example.test", u.Username+"@mx.example.test"); code != 0 {
		t.Fatalf("sendmail: exit %d %s", code, e)
	}
	msg := waitFiles(t, filepath.Join(maildir, "new"), 1)[0]
	// who → First.Last@host.mx… → (looked up again: @host.mx…) First.Last@mx…
	// → masqueraded to example.test
	if !strings.Contains(msg, "Return-Path: <First.Last@example.test>") || !strings.Contains(msg, "From: Who <First.Last@example.test>\n") ||
		!strings.Contains(msg, "To: someone@elsewhere.example\n") {
		t.Errorf("the sender was not rewritten:\n%s", firstLines(msg, 14))
	}
	waitLog(t, in, "from=<First.Last@example.test>")

	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	if out := sendSMTP(addr, "who@mx.example.test", u.Username+"@mx.example.test",
		[]byte("From: <who@mx.example.test>\r\nSubject: smtp\r\n\r\nhello\r\n")); !out.Queued {
		t.Fatalf("%+v", out)
	}
	msgs := waitFiles(t, filepath.Join(maildir, "new"), 2)
	if !strings.Contains(msgs[0]+msgs[1], "From: <First.Last@example.test>") {
		t.Errorf("the header of a client on our own address was not rewritten:\n%s\n%s", msgs[0], msgs[1])
	}

	// Clients that local_header_rewrite_clients does not name keep their
	// headers; the envelope is rewritten all the same.
	f, err := os.OpenFile(filepath.Join(in.dir, "main.cf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "local_header_rewrite_clients = permit_sasl_authenticated")
	f.Close()
	if out, e, code := in.run(t, "reload"); code != 0 { // returns once the new configuration serves
		t.Fatalf("reload: exit %d %s%s", code, out, e)
	}
	if out := sendSMTP(addr, "who@mx.example.test", u.Username+"@mx.example.test",
		[]byte("From: <who@mx.example.test>\r\nSubject: remote\r\n\r\nhello\r\n")); !out.Queued {
		t.Fatalf("%+v", out)
	}
	for _, m := range waitFiles(t, filepath.Join(maildir, "new"), 3) {
		if strings.Contains(m, "Subject: remote") && (!strings.Contains(m, "From: <who@mx.example.test>") ||
			!strings.Contains(m, "Return-Path: <First.Last@example.test>")) {
			t.Errorf("a remote client's message:\n%s", firstLines(m, 14))
		}
	}
}

// A rewriting table that cannot answer defers the message, never
// accepts or bounces it: over SMTP at RCPT (the table's keys are known
// recipients) with 451 4.3.0; from sendmail the message waits in the
// maildrop, the table named in the log, and goes once the table is
// there.
func TestRewriteTableFailureDefers(t *testing.T) {
	u, _ := user.Current()
	tables := t.TempDir()
	canon := filepath.Join(tables, "rcanon")
	in, maildir := mailInstance(t, fmt.Sprintf("recipient_canonical_maps = texthash:%s\n", canon))
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	body := []byte("Subject: deferred\r\n\r\nhello\r\n")
	if out := sendSMTP(addr, u.Username+"@mx.example.test", "info@mx.example.test", body); out.Queued || out.Stage != "RCPT" ||
		out.Reply != "451 4.3.0 <info@mx.example.test>: Temporary lookup failure" {
		t.Errorf("a missing table: %+v", out)
	}
	if _, e, code := sendmailRun(in, "Subject: first\n\nhello\n", "info@mx.example.test"); code != 0 {
		t.Fatalf("sendmail: exit %d %s", code, e)
	}
	waitLog(t, in, "recipient_canonical_maps map lookup problem for info@mx.example.test -- message not accepted, try again later")
	if err := os.WriteFile(canon, []byte("info@mx.example.test "+u.Username+"@mx.example.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// the next submission wakes the pickup, which takes both
	if _, e, code := sendmailRun(in, "Subject: second\n\nhello\n", "info@mx.example.test"); code != 0 {
		t.Fatalf("sendmail: exit %d %s", code, e)
	}
	if files := waitFiles(t, filepath.Join(maildir, "new"), 2); !strings.Contains(files[0]+files[1], "Subject: first") {
		t.Errorf("delivered:\n%s\n%s", files[0], files[1])
	}
	if strings.Contains(in.maillog(t), "status=bounced") {
		t.Errorf("bounced:\n%s", in.maillog(t))
	}
}

// Mail that postern makes itself is rewritten too: a copy an alias
// forwards (re-injected by local delivery) and a bounce notice, whose
// recipients here are virtual aliases of the local user.
func TestRewriteForwardedAndBounced(t *testing.T) {
	u, _ := user.Current()
	tables := t.TempDir()
	virtual, aliases := filepath.Join(tables, "virtual"), filepath.Join(tables, "aliases")
	os.WriteFile(virtual, []byte("team@valias.example "+u.Username+"@mx.example.test\nowner@valias.example "+u.Username+"@mx.example.test\n"), 0o644)
	os.WriteFile(aliases, []byte("fwd team@valias.example\n"), 0o644) // texthash: postmap format
	in, maildir := mailInstance(t, fmt.Sprintf("virtual_alias_domains = valias.example\nvirtual_alias_maps = texthash:%s\n"+
		"virtual_alias_message_limit = 3\n"+
		"alias_maps = texthash:%s\n", virtual, aliases))
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(in.maillog(t))
		}
	})
	if _, e, code := sendmailRun(in, "Subject: forwarded\n\nhello\n", "-f", "someone@mx.example.test", "fwd@mx.example.test"); code != 0 {
		t.Fatalf("sendmail: exit %d %s", code, e)
	}
	if files := waitFiles(t, filepath.Join(maildir, "new"), 1); !strings.Contains(files[0], "Subject: forwarded") {
		t.Errorf("forwarded:\n%s", files[0])
	}
	// orig_to= is what the first message was sent to, as Postfix keeps it
	waitLog(t, in, fmt.Sprintf("to=<%s@mx.example.test>, orig_to=<fwd@mx.example.test>, relay=local", u.Username))

	// an unknown local user bounces to the sender, a virtual alias
	if _, e, code := sendmailRun(in, "Subject: to nobody\n\nhello\n", "-f", "owner@valias.example", "nosuchuser@mx.example.test"); code != 0 {
		t.Fatalf("sendmail: exit %d %s", code, e)
	}
	files := waitFiles(t, filepath.Join(maildir, "new"), 2)
	if !strings.Contains(files[0]+files[1], "Undelivered Mail Returned to Sender") {
		t.Errorf("no bounce delivered:\n%s\n%s", files[0], files[1])
	}
	waitLog(t, in, fmt.Sprintf("to=<%s@mx.example.test>, orig_to=<owner@valias.example>, relay=local", u.Username))
}
