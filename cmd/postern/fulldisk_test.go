package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of the given size (mount(8) syntax: "4m") on
// dir for the test, skipping when that is impossible. cleanup runs
// first, then the unmount.
func mountTmpfs(t *testing.T, dir, size string, cleanup func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root (CI runs as root)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=755", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (a container without CAP_SYS_ADMIN?): %v %s", err, out)
	}
	t.Cleanup(func() {
		cleanup()
		// An aborted daemon has answered but may still be exiting,
		// with files open there: the mount is busy until it is gone.
		var out []byte
		var err error
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if out, err = exec.Command("umount", dir).CombinedOutput(); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	})
}

// With its queue on a 4 MB file system and delivery held, the daemon
// takes mail until free space falls below 1.5 × message_size_limit,
// then answers 452 4.3.1 and keeps serving; once there is room and the
// route delivers again, every message answered 250 arrives exactly once
// and none of the refused ones does.
func TestFullQueueFileSystem(t *testing.T) {
	const sizeLimit, msgSize = 200000, 48 * 1024
	u, err := user.Current()
	if err != nil {
		t.Skip("no current user:", err)
	}
	spool := t.TempDir()
	transport := filepath.Join(spool, "transport")
	if err := os.WriteFile(transport, []byte("mx.example.test retry:4.0.0 held for the full-disk test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := newInstance(t, fmt.Sprintf("inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\nalias_maps =\nhome_mailbox =\n"+
		"mail_spool_directory = %s/mail/\nmessage_size_limit = %d\ntransport_maps = texthash:%s\n", spool, sizeLimit, transport))
	if err := os.MkdirAll(filepath.Join(spool, "mail"), 0o755); err != nil {
		t.Fatal(err)
	}
	queueDir := filepath.Join(in.dir, "queue")
	mountTmpfs(t, queueDir, "4m", func() { in.run(t, "abort") })
	in.start(t)
	pid := in.daemonPid(t)
	rcpt := u.Username + "@mx.example.test"
	addr := fmt.Sprintf("127.0.0.1:%d", in.port)

	var accepted []int
	var refusal smtpOutcome
	n := 0
	for refusal.Stage == "" {
		n++
		if n > 200 { // 4 MB holds about 80 such messages
			t.Fatalf("still accepting after %d messages of %d bytes on a 4 MB queue", n-1, msgSize)
		}
		switch o := sendSMTP(addr, rcpt, rcpt, numberedMessage(n, msgSize)); {
		case o.Queued:
			accepted = append(accepted, n)
		case strings.HasPrefix(o.Reply, "452 4.3.1 Insufficient system storage") && (o.Stage == "MAIL" || o.Stage == "end of DATA"):
			refusal = o
		default:
			t.Fatalf("message %d: %s answered %q (%v)", n, o.Stage, o.Reply, o.Err)
		}
	}
	t.Logf("queue full after %d messages of %d bytes: %q at %s", len(accepted), msgSize, refusal.Reply, refusal.Stage)
	if len(accepted) < 20 {
		t.Errorf("only %d messages accepted on a 4 MB queue: the reserve is too large", len(accepted))
	}
	refused := []int{n}
	// The daemon stays up: new sessions are greeted and answered, and mail
	// is still refused while the file system is full.
	for range 3 {
		n++
		o := sendSMTP(addr, rcpt, rcpt, numberedMessage(n, msgSize))
		if o.Queued || !strings.HasPrefix(o.Reply, "452 4.3.1 ") {
			t.Errorf("message %d on a full queue: %s answered %q (%v)", n, o.Stage, o.Reply, o.Err)
		}
		refused = append(refused, n)
	}
	if err := greet(addr); err != nil {
		t.Errorf("no banner on a full queue: %v", err)
	}
	if got := in.daemonPid(t); got != pid {
		t.Fatalf("daemon pid changed from %d to %d", pid, got)
	}
	if out, _, code := in.run(t, "status"); code != 0 {
		t.Fatalf("status on a full queue: exit %d %s", code, out)
	}
	if out, _, _ := in.run(t, "queue", "-j"); strings.Count(out, "\n") != len(accepted) {
		t.Errorf("queue lists %d messages, want the %d accepted", strings.Count(out, "\n"), len(accepted))
	}

	if files, _ := os.ReadDir(filepath.Join(spool, "mail", u.Username, "new")); len(files) != 0 {
		t.Fatalf("%d messages delivered while the route held them", len(files))
	}
	waitLog(t, in, "status=deferred (held for the full-disk test)")

	// Completely full: a file takes the reserve, and the queue manager
	// retries every message, so each recorded deferral hits ENOSPC.
	filler := filepath.Join(queueDir, "filler")
	fillDisk(t, filler)
	deferrals := strings.Count(in.maillog(t), "status=deferred")
	if out, e, code := in.run(t, "queue", "-f"); code != 0 {
		t.Fatalf("queue -f: exit %d %s%s", code, out, e)
	}
	// Every message is tried again, and each attempt logged as a
	// deferral, whether or not its status could be written.
	waitLogCount(t, in, "status=deferred", deferrals+len(accepted))
	n++
	if o := sendSMTP(addr, rcpt, rcpt, numberedMessage(n, msgSize)); o.Queued || !strings.HasPrefix(o.Reply, "452 4.3.1 ") {
		t.Errorf("message %d on a 100%% full queue: %s answered %q (%v)", n, o.Stage, o.Reply, o.Err)
	}
	refused = append(refused, n)
	if got := in.daemonPid(t); got != pid {
		t.Fatalf("daemon pid changed from %d to %d", pid, got)
	}
	if err := greet(addr); err != nil {
		t.Errorf("no banner on a 100%% full queue: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}

	// Room again: the next message is taken.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", queueDir).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v %s", err, out)
	}
	n++
	if o := sendSMTP(addr, rcpt, rcpt, numberedMessage(n, msgSize)); !o.Queued {
		t.Fatalf("after growing the queue: %s answered %q (%v)", o.Stage, o.Reply, o.Err)
	}
	accepted = append(accepted, n)

	// Deliver: drop the route that holds the mail, reload, flush.
	if out, e, code := in.run(t, "conf", "transport_maps="); code != 0 {
		t.Fatalf("conf: exit %d %s%s", code, out, e)
	}
	if out, e, code := in.run(t, "reload"); code != 0 {
		t.Fatalf("reload: exit %d %s%s", code, out, e)
	}
	if out, e, code := in.run(t, "queue", "-f"); code != 0 {
		t.Fatalf("queue -f: exit %d %s%s", code, out, e)
	}
	in.waitQueueEmpty(t, 30*time.Second)
	copies, strays := maildirCopies(t, filepath.Join(spool, "mail", u.Username))
	if len(strays) > 0 {
		t.Errorf("unexpected messages in the Maildir: %v", strays)
	}
	var wrong []string
	for _, k := range accepted {
		if c := len(copies[k]); c != 1 {
			wrong = append(wrong, fmt.Sprintf("accepted message %d delivered %d times", k, c))
		}
	}
	for _, k := range refused {
		if c := len(copies[k]); c != 0 {
			wrong = append(wrong, fmt.Sprintf("refused message %d delivered %d times", k, c))
		}
	}
	sort.Strings(wrong)
	if len(wrong) > 0 {
		t.Errorf("%d wrong deliveries:\n%s", len(wrong), strings.Join(wrong, "\n"))
	}
	log := in.maillog(t)
	// One shortage, from the first refused MAIL until the file system
	// grew: one warning, by smtpd, which refused first, not one per
	// message or per queue manager attempt.
	if w := grepLines(log, "space"); strings.Count(w, "\n")+1 != 1 || !strings.Contains(w, "postern/smtpd[") ||
		!strings.Contains(w, "warning: not enough free space in mail queue") {
		t.Errorf("want one free-space warning, by smtpd:\n%s", w)
	}
	if k := strings.Count(log, "NOQUEUE: reject: MAIL from "); k < 4 {
		t.Errorf("%d MAIL commands logged as refused, want at least 4", k)
	}
	if strings.Contains(log, "panic") || strings.Contains(log, "corrupt queue file") {
		t.Errorf("maillog shows a panic or a corrupt queue file:\n%s", grepLines(log, "panic")+grepLines(log, "corrupt"))
	}
}

// fillDisk writes name until its file system is full.
func fillDisk(t *testing.T, name string) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !strings.Contains(err.Error(), "no space left") {
				t.Fatalf("fill %s: %v", name, err)
			}
			return
		}
	}
}
