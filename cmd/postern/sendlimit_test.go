package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// sender_rate_limit_maps for sendmail: the submitter's uid may send one
// message an hour; the second is held and logged, and `postern super
// -H` releases it for delivery.
func TestSendLimitSendmailHold(t *testing.T) {
	in, maildir := mailInstance(t, fmt.Sprintf("queue_run_delay = 1s\nsender_rate_limit_maps = inline:{ uid:%d=1/1h }\n", os.Getuid()))
	u, _ := user.Current()
	for i := 1; i <= 2; i++ {
		if _, e, code := sendmailRun(in, fmt.Sprintf("Subject: cron %d\n\noutput\n", i), "-f", "app@client.example", u.Username); code != 0 {
			t.Fatalf("sendmail %d: exit %d %s", i, code, e)
		}
	}
	waitLog(t, in, fmt.Sprintf("message rate limit exceeded for uid:%d: 1/1h: held", os.Getuid()))
	waitLog(t, in, "sendlimit-hold: END-OF-MESSAGE from localhost[127.0.0.1]: sendlimit triggers HOLD action; from=<app@client.example>")
	waitFiles(t, filepath.Join(maildir, "new"), 1)
	out, _, _ := in.run(t, "queue", "-p")
	if !strings.Contains(out, "!") || !strings.HasSuffix(out, "in 1 Request.\n") {
		t.Fatalf("queue -p: want one held message:\n%s", out)
	}
	if _, e, code := in.run(t, "super", "-H", "ALL"); code != 0 || !strings.Contains(e, "Released from hold: 1 message\n") {
		t.Fatalf("super -H ALL: exit %d %q", code, e)
	}
	waitFiles(t, filepath.Join(maildir, "new"), 2)
}

// sender_rate_limit_maps for SMTP: a $mynetworks client is counted by
// sender domain (2 messages an hour): the third MAIL is deferred with
// 4.7.1 and logged, another domain still passes.
func TestSendLimitSMTPDomain(t *testing.T) {
	in, _ := mailInstance(t, "sender_rate_limit_maps = inline:{ client.example=2/1h }\n")
	u, _ := user.Current()
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)
	to := u.Username + "@mx.example.test"
	body := []byte("Subject: limited\r\n\r\nbody\r\n")
	for i := 1; i <= 2; i++ {
		if out := sendSMTP(addr, "app@client.example", to, body); !out.Queued {
			t.Fatalf("message %d: %+v", i, out)
		}
	}
	out := sendSMTP(addr, "app@client.example", to, body)
	if want := "450 4.7.1 <app@client.example>: Sender address rejected: message rate limit exceeded"; out.Stage != "MAIL" || out.Reply != want {
		t.Fatalf("third message: %+v, want %q at MAIL", out, want)
	}
	waitLog(t, in, "message rate limit exceeded for client.example: 2/1h from localhost[127.0.0.1]")
	if out := sendSMTP(addr, "app@other.example", to, body); !out.Queued {
		t.Fatalf("other domain: %+v", out)
	}
}

// A bad sender_rate_limit_maps value is refused by reload (the running
// configuration stays) and by start, naming file, line, key and value,
// instead of deferring the mail of the sender who meets it.
func TestSendLimitBadValueRefused(t *testing.T) {
	dir := t.TempDir()
	limits := filepath.Join(dir, "sender_limits")
	if err := os.WriteFile(limits, []byte("alice@example.com 100/1d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, _ := mailInstance(t, "sender_rate_limit_maps = texthash:"+limits+"\n")
	if err := os.WriteFile(limits, []byte("alice@example.com 100/1d\nbob@example.com 100/1w\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := limits + `, line 2, key bob@example.com: bad value "100/1w"`
	out, e, code := in.run(t, "reload")
	if code == 0 || !strings.Contains(out+e, want) || !strings.Contains(out+e, "accepted: rules separated by commas or spaces") {
		t.Fatalf("reload: exit %d, want a refusal naming %q:\n%s%s", code, want, out, e)
	}
	if _, _, code := in.run(t, "status"); code != 0 {
		t.Fatal("the daemon stopped after a refused reload")
	}
	in.run(t, "stop")
	if out, e, code := in.run(t, "start"); code == 0 || !strings.Contains(out+e, want) {
		t.Fatalf("start: exit %d, want a refusal naming %q:\n%s%s", code, want, out, e)
	}
}
