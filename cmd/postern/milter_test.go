package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/milter/miltertest"
)

// dkimVerify verifies msg's DKIM-Signature with Debian's dkimpy, the
// key record given instead of DNS.
func dkimVerify(t *testing.T, msg, txt string) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Skip("/usr/bin/python3 is not installed (scripts/install-test-deps)")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import dkim").Run(); err != nil {
		t.Skip("python3-dkim (dkimpy) is not installed (scripts/install-test-deps)")
	}
	const py = `import sys, dkim
msg = open(sys.argv[1], 'rb').read()
txt = sys.argv[2].encode()
ok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: txt)
print("verified" if ok else "failed")
sys.exit(0 if ok else 1)
`
	f := filepath.Join(t.TempDir(), "msg")
	os.WriteFile(f, []byte(msg), 0o644)
	if out, err := exec.Command("/usr/bin/python3", "-c", py, f, txt).CombinedOutput(); err != nil {
		t.Errorf("dkimpy does not verify the signature: %v %s\n%s", err, out, msg)
	}
}

// smtpd_milters with the real OpenDKIM: a message from a client in
// 127.0.0.0/8 (OpenDKIM's InternalHosts) is delivered with OpenDKIM's
// DKIM-Signature, which dkimpy verifies against the key OpenDKIM uses.
func TestMilterOpenDKIMSigns(t *testing.T) {
	od := miltertest.StartOpenDKIM(t, "example.test", "s1")
	in, maildir := mailInstance(t, "smtpd_milters = "+od.Name+"\nmilter_default_action = reject\n")
	u, _ := user.Current()
	body := "From: Alice <alice@example.test>\r\nTo: " + u.Username + "@mx.example.test\r\nSubject: signed by OpenDKIM\r\n" +
		"Date: Mon, 07 Dec 2026 13:00:00 +0000\r\nMessage-ID: <milter-1@example.test>\r\n\r\nHello through the milter.\r\n"
	if out := sendSMTP(fmt.Sprintf("127.0.0.1:%d", in.port), "alice@example.test", u.Username+"@mx.example.test", []byte(body)); !out.Queued {
		t.Fatalf("not queued: %+v\n%s", out, in.maillog(t))
	}
	msgs := waitFiles(t, filepath.Join(maildir, "new"), 1)
	if !strings.Contains(msgs[0], "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=s1;") {
		t.Fatalf("no OpenDKIM signature:\n%s", msgs[0])
	}
	dkimVerify(t, msgs[0], od.TXT)
}

// smtpd_milters with the real rspamd: its headers are added to a
// normal message, and a GTUBE message is refused at end of data with
// rspamd's 5xx, which postern logs as Postfix's cleanup does.
func TestMilterRspamd(t *testing.T) {
	rs := miltertest.StartRspamd(t)
	in, maildir := mailInstance(t, "smtpd_milters = "+rs.Name+"\nmilter_default_action = reject\n")
	u, _ := user.Current()
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	rcpt := u.Username + "@mx.example.test"
	body := "From: bob@client.example\r\nTo: " + rcpt + "\r\nSubject: plain\r\nDate: Mon, 07 Dec 2026 13:00:00 +0000\r\n" +
		"Message-ID: <rspamd-1@client.example>\r\n\r\nAn ordinary message.\r\n"
	if out := sendSMTP(addr, "bob@client.example", rcpt, []byte(body)); !out.Queued {
		t.Fatalf("ordinary message not queued: %+v\n%s\n%s", out, in.maillog(t), rs.Log())
	}
	msgs := waitFiles(t, filepath.Join(maildir, "new"), 1)
	if !strings.Contains(msgs[0], "X-Spamd-Result: default: False") || !strings.Contains(msgs[0], "X-Rspamd-Server:") {
		t.Errorf("rspamd's headers are missing:\n%s", msgs[0])
	}

	gtube := "From: bob@client.example\r\nTo: " + rcpt + "\r\nSubject: gtube\r\n\r\n" +
		"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n"
	out := sendSMTP(addr, "bob@client.example", rcpt, []byte(gtube))
	if out.Queued || out.Stage != "end of DATA" || !strings.HasPrefix(out.Reply, "5") {
		t.Fatalf("GTUBE: %+v, want a 5xx at end of data\n%s", out, rs.Log())
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(in.maillog(t), ": milter-reject: END-OF-MESSAGE from localhost[127.0.0.1]: 5.") &&
		!strings.Contains(in.maillog(t), ": milter-reject: END-OF-MESSAGE from unknown[127.0.0.1]: 5.") {
		if time.Now().After(deadline) {
			t.Fatalf("no milter-reject line:\n%s", in.maillog(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(waitFiles(t, filepath.Join(maildir, "new"), 1)); n != 1 {
		t.Errorf("%d messages delivered, want the ordinary one only", n)
	}
}

// non_smtpd_milters with the real OpenDKIM: mail submitted with
// sendmail goes through it in pickup (from localhost [127.0.0.1], as
// Postfix's cleanup presents it) and is delivered signed.
func TestMilterOpenDKIMSignsLocalSubmission(t *testing.T) {
	od := miltertest.StartOpenDKIM(t, "example.test", "s2")
	in, maildir := mailInstance(t, "non_smtpd_milters = "+od.Name+"\nqueue_run_delay = 1s\n")
	u, _ := user.Current()
	msg := "From: Alice <alice@example.test>\nTo: " + u.Username + "@mx.example.test\nSubject: cron output\n\nsigned locally\n"
	if _, e, code := sendmailRun(in, msg, "-f", "alice@example.test", u.Username); code != 0 {
		t.Fatalf("sendmail: exit %d %s", code, e)
	}
	files := waitFiles(t, filepath.Join(maildir, "new"), 1)
	if !strings.Contains(files[0], "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=s2;") {
		t.Fatalf("no OpenDKIM signature:\n%s\n%s", files[0], in.maillog(t))
	}
	dkimVerify(t, files[0], od.TXT)
}
