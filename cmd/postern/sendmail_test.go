package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/pickup"
	"github.com/postern-mta/postern/internal/queue"
)

// sendmailScript is an executable that runs the real binary as
// "sendmail" (the symlink TestMain makes) for in's configuration, as
// /usr/sbin/sendmail would.
func sendmailScript(t *testing.T, in *instance) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sendmail")
	script := fmt.Sprintf("#!/bin/sh\nPOSTERN_CONFIG_DIR=%s exec %s \"$@\"\n", in.dir, filepath.Join(binDir, "sendmail"))
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// stoppedMailInstance is mailInstance's configuration, not started.
func stoppedMailInstance(t *testing.T, extra string) (*instance, string) {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	dir := t.TempDir()
	in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\n"+
		"home_mailbox =\nmail_spool_directory = %s/mail/\nqueue_run_delay = 1s\n%s", dir, extra))
	if err := os.MkdirAll(filepath.Join(dir, "mail"), 0o755); err != nil {
		t.Fatal(err)
	}
	return in, filepath.Join(dir, "mail", u.Username)
}

func sendmailRun(in *instance, stdin string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := runSendmail(append([]string{"-C", in.dir}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func maildropNames(t *testing.T, in *instance) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(in.dir, "queue", queue.Maildrop))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// pickupOnce does what the daemon's pickup does on a wake-up: queue the
// maildrop's files. (The daemon does not run pickup until main wires
// pickup.Run into it.)
func pickupOnce(t *testing.T, in *instance) (int, string) {
	t.Helper()
	cfg, err := config.Load(in.dir)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := pickup.ConfigFrom(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store, err := queue.Open(pc.QueueDir, queue.Options{NoRecover: true})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	n, err := pickup.New(pc, store, slog.New(slog.NewTextHandler(&log, nil))).Scan(context.Background())
	if err != nil {
		t.Fatalf("pickup: %v\n%s", err, log.String())
	}
	return n, log.String()
}

// PHP's mail() with the daemon stopped: the message waits in the
// maildrop and is delivered once the daemon is up, with the headers
// cleanup adds, and Bcc: gone.
func TestSendmailWhileDaemonStopped(t *testing.T) {
	in, maildir := stoppedMailInstance(t, "")
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	msg := "To: " + rcpt + "\r\nBcc: " + rcpt + "\r\nSubject: from php\r\n\r\nHello from mail().\r\n.\r\nstill the body\r\n"
	if out, e, code := sendmailRun(in, msg, "-t", "-i"); code != 0 || out != "" || e != "" {
		t.Fatalf("sendmail: exit %d %q %q", code, out, e)
	}
	if names := maildropNames(t, in); len(names) != 1 || !strings.HasPrefix(names[0], "m.") {
		t.Fatalf("maildrop holds %v", names)
	}
	if out, _, code := in.run(t, "queue", "-p"); code != 0 || !strings.Contains(out, rcpt) || !strings.HasSuffix(out, "in 1 Request.\n") {
		t.Errorf("mailq does not list the maildrop:\n%s", out)
	}
	in.start(t) // the daemon's pickup finds it
	files := waitFiles(t, filepath.Join(maildir, "new"), 1)
	waitLog(t, in, fmt.Sprintf("uid=%d from=<%s>", os.Getuid(), u.Username))
	for _, want := range []string{
		"Return-Path: <" + u.Username + "@mx.example.test>\n",
		fmt.Sprintf("Received: by mx.example.test (postern, from userid %d)\n\tid ", os.Getuid()),
		"To: " + rcpt + "\nSubject: from php\nMessage-Id: <", "@mx.example.test>\nDate: ",
		"\nFrom: ", " <" + u.Username + "@mx.example.test>\n\nHello from mail().\n.\nstill the body\n",
	} {
		if !strings.Contains(files[0], want) {
			t.Errorf("delivered message lacks %q:\n%s", want, files[0])
		}
	}
	if strings.Contains(files[0], "Bcc:") {
		t.Errorf("Bcc: was delivered:\n%s", files[0])
	}
	waitLog(t, in, ": removed")
	if names := maildropNames(t, in); len(names) != 0 {
		t.Errorf("maildrop still holds %v", names)
	}
}

// With the daemon running, the message goes through as soon as pickup
// has queued it; -f and -F make the envelope sender and the From: name.
func TestSendmailWhileDaemonRuns(t *testing.T) {
	in, maildir := mailInstance(t, "queue_run_delay = 1s\n")
	u, _ := user.Current()
	if _, e, code := sendmailRun(in, "Subject: cron\n\noutput\n", "-f", "app@client.example", "-F", "Web App", u.Username); code != 0 {
		t.Fatalf("sendmail: exit %d %s", code, e)
	}
	// The daemon's pickup, woken by sendmail, queues it (a second pickup
	// in this process would race it for the file, and on a loaded
	// machine both could queue it).
	waitLog(t, in, fmt.Sprintf("uid=%d from=<app@client.example>", os.Getuid()))
	files := waitFiles(t, filepath.Join(maildir, "new"), 1)
	for _, want := range []string{"Return-Path: <app@client.example>\n", "Delivered-To: " + u.Username + "@mx.example.test\n",
		"Subject: cron\n", "From: Web App <app@client.example>\n\noutput\n"} {
		if !strings.Contains(files[0], want) {
			t.Errorf("delivered message lacks %q:\n%s", want, files[0])
		}
	}
	waitLog(t, in, "from=<app@client.example>, size=")
}

// Errors: sysexits codes, Postfix's words, nothing left in the maildrop.
func TestSendmailErrors(t *testing.T) {
	in, _ := stoppedMailInstance(t, "message_size_limit = 2000\n")
	for _, tc := range []struct {
		name, stdin string
		args        []string
		code        int
		stderr      string
	}{
		{"unknown option", "", []string{"-Z"}, 64, "sendmail: invalid option -- 'Z'\nsendmail: fatal: usage: sendmail [options]\n"},
		{"no recipients", "Subject: x\n\nx\n", nil, 64, "sendmail: fatal: %s(%d): Recipient addresses must be specified on the command line or via the -t option\n"},
		{"-t, none in the header", "Subject: x\n\nx\n", []string{"-t"}, 64, "sendmail: fatal: %s(%d): No recipient addresses found in message header\n"},
		{"empty", "", []string{"a@example.test"}, 65, "sendmail: fatal: %s(%d): empty message: nothing was read from standard input\n"},
		{"binary", "\x7fELF\x02\x01\x01\x00\x00\x00", []string{"a@example.test"}, 65, "sendmail: fatal: %s(%d): message content contains a NUL byte: not a mail message (binary data?)\n"},
		{"too big", "Subject: x\n\n" + strings.Repeat("0123456789\n", 200), []string{"a@example.test"}, 65, "sendmail: fatal: %s(%d): message file too big\n"},
		{"-q with the daemon down", "", []string{"-q"}, 69, "postern queue: fatal: Cannot flush mail queue - mail system is down\n"},
		{"ignored legacy options", "x\n", []string{"-oem", "-odb", "-L", "x", "-U", "a@example.test"}, 0, ""},
		{"bad -N is a warning", "x\n", []string{"-N", "sometimes", "a@example.test"}, 0, "sendmail: warning: bad -N option value -- ignored\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := user.Current()
			want := tc.stderr
			if strings.Contains(want, "%s(%d)") {
				want = fmt.Sprintf(want, u.Username, os.Getuid())
			}
			before := len(maildropNames(t, in))
			_, e, code := sendmailRun(in, tc.stdin, tc.args...)
			if code != tc.code || e != want {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, e, tc.code, want)
			}
			if after := len(maildropNames(t, in)); tc.code != 0 && after != before {
				t.Errorf("a failed submission changed the maildrop: %d files, then %d", before, after)
			}
		})
	}
	// -bp lists the queue as postern queue -p does.
	out, _, code := sendmailRun(in, "", "-bp")
	want, _, _ := in.run(t, "queue", "-p")
	if code != 0 || out != want {
		t.Errorf("-bp: exit %d %q, want %q", code, out, want)
	}
}

// Real clients run the command as /usr/sbin/sendmail: a shell pipe
// (cron, scripts), Python's subprocess (Django and friends in sendmail
// mode), BSD mailx (when installed).
func TestSendmailClients(t *testing.T) {
	in, maildir := stoppedMailInstance(t, "")
	sm := sendmailScript(t, in)
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	sent := 0
	run := func(name string, cmd *exec.Cmd) {
		t.Helper()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		sent++
	}
	run("printf | sendmail -t -i", exec.Command("sh", "-c",
		fmt.Sprintf(`printf 'To: %s\nSubject: from a pipe\n\nhi\n' | %s -t -i`, rcpt, sm)))
	if py, err := exec.LookPath("python3"); err == nil {
		script := `import subprocess, sys
msg = b"To: ` + rcpt + `\nSubject: from python\n\nhi\n"
p = subprocess.run([sys.argv[1], "-t", "-i"], input=msg)
sys.exit(p.returncode)`
		run("python3 subprocess", exec.Command(py, "-c", script, sm))
	}
	if mailx, err := exec.LookPath("bsd-mailx"); err == nil {
		rc := filepath.Join(t.TempDir(), "mailrc")
		os.WriteFile(rc, []byte("set sendmail="+sm+"\n"), 0o644)
		cmd := exec.Command(mailx, "-s", "from mailx", rcpt)
		cmd.Env = append(os.Environ(), "MAILRC="+rc)
		cmd.Stdin = strings.NewReader("hi\n")
		run("bsd-mailx", cmd)
	} else {
		t.Log("bsd-mailx is not installed: not tried")
	}
	if swaks, err := exec.LookPath("swaks"); err == nil {
		run("swaks --pipe 'sendmail -bs'", exec.Command(swaks, "--pipe", sm+" -bs", "--from", "app@client.example", "--to", rcpt,
			"--header", "Subject: from swaks", "--body", "hi"))
	}
	if n, log := pickupOnce(t, in); n != sent {
		t.Fatalf("pickup queued %d of %d:\n%s", n, sent, log)
	}
	in.start(t)
	files := waitFiles(t, filepath.Join(maildir, "new"), sent)
	for _, f := range files {
		if !strings.Contains(f, "Subject: from ") || !strings.Contains(f, "\nhi\n") {
			t.Errorf("delivered:\n%s", f)
		}
	}
}

// sendmail -bs speaks SMTP on standard input and output, as some clients
// use it; the message goes through the maildrop and carries both the
// stand-alone session's Received: and pickup's, as with Postfix.
func TestSendmailSMTPMode(t *testing.T) {
	in, maildir := stoppedMailInstance(t, "")
	u, _ := user.Current()
	rcpt := u.Username + "@mx.example.test"
	session := "EHLO client.example\r\nMAIL FROM:<app@client.example>\r\nRCPT TO:<" + rcpt + ">\r\n" +
		"DATA\r\nSubject: over -bs\r\n\r\nhi\r\n.\r\nQUIT\r\n"
	out, e, code := sendmailRun(in, session, "-bs")
	if code != 0 || e != "" {
		t.Fatalf("-bs: exit %d %s", code, e)
	}
	for _, want := range []string{"220 mx.example.test ESMTP", "250 2.1.5 Ok", "354 End data", "250 2.0.0 Ok: queued as ", "221 2.0.0 Bye"} {
		if !strings.Contains(out, want) {
			t.Errorf("session lacks %q:\n%s", want, out)
		}
	}
	if n, log := pickupOnce(t, in); n != 1 || !strings.Contains(log, fmt.Sprintf("uid=%d from=<app@client.example>", os.Getuid())) {
		t.Fatalf("pickup queued %d:\n%s", n, log)
	}
	in.start(t)
	files := waitFiles(t, filepath.Join(maildir, "new"), 1)
	for _, want := range []string{fmt.Sprintf("Received: by mx.example.test (postern, from userid %d)\n", os.Getuid()),
		"Received: from client.example (localhost [127.0.0.1])\n\tby mx.example.test (postern) with ESMTP id ",
		"Subject: over -bs\n", "\n\nhi\n"} {
		if !strings.Contains(files[0], want) {
			t.Errorf("delivered message lacks %q:\n%s", want, files[0])
		}
	}
}

// sendmail -bv prints nothing and mails the asker a report of what
// postern would do with each address.
func TestSendmailVerify(t *testing.T) {
	in, maildir := mailInstance(t, "alias_maps =\nlocal_recipient_maps = proxy:unix:passwd.byname\n")
	u, _ := user.Current()
	out, e, code := sendmailRun(in, "", "-bv", u.Username+"@mx.example.test", "no-such-user@mx.example.test", "x@remote.example")
	if code != 0 || out != "" || e != "" {
		t.Fatalf("sendmail -bv: exit %d %q %q", code, out, e)
	}
	files := waitFiles(t, filepath.Join(maildir, "new"), 1)
	for _, want := range []string{"Subject: Mail Delivery Status Report", "Return-Path: <>",
		"<" + u.Username + "@mx.example.test>: delivery via local: delivers to mailbox",
		`<no-such-user@mx.example.test>: unknown user: "no-such-user"`,
		"<x@remote.example>: delivery via smtp to remote.example: deliverable (not probed)"} {
		if !strings.Contains(files[0], want) {
			t.Errorf("report lacks %q:\n%s", want, files[0])
		}
	}
}
