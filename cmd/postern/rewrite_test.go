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
		"loop@valias.example loop2@valias.example\nloop2@valias.example loop@valias.example\n", u.Username)), 0o644); err != nil {
		t.Fatal(err)
	}
	in, maildir := mailInstance(t, fmt.Sprintf("virtual_alias_domains = valias.example\nvirtual_alias_maps = texthash:%s\n"+
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

	if out := sendSMTP(addr, u.Username+"@mx.example.test", "info@valias.example", []byte("Subject: x\r\n\r\nhello\r\n")); out.Stage != "RCPT" ||
		!strings.Contains(out.Reply, "User unknown in virtual alias table") {
		t.Errorf("unknown alias: %+v", out)
	}
}

// sendmail's envelope sender goes through sender_canonical_maps (and
// masquerading), as every message's does in cleanup.
func TestSenderCanonicalSendmail(t *testing.T) {
	u, _ := user.Current()
	tables := t.TempDir()
	canon := filepath.Join(tables, "sender_canonical")
	if err := os.WriteFile(canon, []byte("@host.mx.example.test @mx.example.test\nwho@mx.example.test First.Last@host.mx.example.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, maildir := mailInstance(t, fmt.Sprintf("sender_canonical_maps = texthash:%s\nmasquerade_domains = example.test\n", canon))
	if _, e, code := sendmailRun(in, "Subject: canonical\n\nhello\n", "-f", "who@mx.example.test", u.Username+"@mx.example.test"); code != 0 {
		t.Fatalf("sendmail: exit %d %s", code, e)
	}
	msg := waitFiles(t, filepath.Join(maildir, "new"), 1)[0]
	// who → First.Last@host.mx… → (looked up again: @host.mx…) First.Last@mx…
	// → masqueraded to example.test
	if !strings.Contains(msg, "Return-Path: <First.Last@example.test>") {
		t.Errorf("the envelope sender was not rewritten:\n%s", firstLines(msg, 12))
	}
	waitLog(t, in, "from=<First.Last@example.test>")
}
