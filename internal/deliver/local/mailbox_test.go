package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
)

const wantMbox = "From sender@remote.test  Sat Mar  7 09:05:03 2026\n" +
	"Return-Path: <sender@remote.test>\n" +
	"X-Original-To: alice@example.test\n" +
	"Delivered-To: alice@example.test\n" +
	"Subject: test\nFrom: sender@remote.test\n\n" +
	">From the start\n>From quoted already\nline\n\n"

func TestSpoolMbox(t *testing.T) {
	e := newEnv(t)
	expect(t, e.deliver1("alice@example.test"), deliver.Sent, "2.0.0", "delivered to mailbox")
	mbox := filepath.Join(e.spool, "alice")
	if got := readFile(t, mbox); got != wantMbox {
		t.Errorf("mbox:\n%q\nwant\n%q", got, wantMbox)
	}
	if isRoot() {
		if uid, gid, mode := ownerOf(t, mbox); uid != aliceUID || gid != aliceGID || mode.Perm() != 0o600 {
			t.Errorf("mailbox %d:%d %v", uid, gid, mode)
		}
	}
	// The next message is appended; the dotlock is gone again.
	expect(t, e.deliver1("Alice@Example.Test"), deliver.Sent, "2.0.0", "delivered to mailbox")
	second := strings.ReplaceAll(wantMbox, "alice@example.test", "Alice@Example.Test")
	if got := readFile(t, mbox); got != wantMbox+second {
		t.Errorf("second delivery:\n%q", got)
	}
	if _, err := os.Stat(mbox + ".lock"); !os.IsNotExist(err) {
		t.Errorf("dotlock left behind: %v", err)
	}
}

func TestGroupWritableSpoolGivesItsGroup(t *testing.T) {
	if !isRoot() {
		t.Skip("needs root to chown")
	}
	e := newEnv(t)
	os.Chown(e.spool, 0, 4242)
	os.Chmod(e.spool, 0o2775)
	e.deliver1("alice@example.test")
	if uid, gid, _ := ownerOf(t, filepath.Join(e.spool, "alice")); uid != aliceUID || gid != 4242 {
		t.Errorf("mailbox %d:%d, want %d:4242", uid, gid, aliceUID)
	}
}

func TestNullSenderMbox(t *testing.T) {
	e := newEnv(t)
	req := request("Subject: bounce\r\n\r\nbody", "alice@example.test")
	req.Env.Sender = ""
	res := e.agent().Deliver(context.Background(), req)
	expect(t, res[0], deliver.Sent, "2.0.0", "delivered to mailbox")
	want := "From MAILER-DAEMON  Sat Mar  7 09:05:03 2026\nReturn-Path: <>\n" +
		"X-Original-To: alice@example.test\nDelivered-To: alice@example.test\n" +
		"Subject: bounce\n\nbody\n\n" // a final line end is added
	if got := readFile(t, filepath.Join(e.spool, "alice")); got != want {
		t.Errorf("mbox:\n%q\nwant\n%q", got, want)
	}
}

// TestOriginalRecipientHeader: X-Original-To: is the address as the
// client wrote it, Delivered-To: the rewritten one (Postfix 3.7.11 for
// RCPT TO:<known>: "X-Original-To: known", "Delivered-To:
// known@mail.example.test").
func TestOriginalRecipientHeader(t *testing.T) {
	e := newEnv(t)
	req := request("Subject: bare\r\n\r\nbody", "alice@example.test")
	req.Env.Recipients[0].Orig = "alice"
	res := e.agent().Deliver(context.Background(), req)
	expect(t, res[0], deliver.Sent, "2.0.0", "delivered to mailbox")
	got := readFile(t, filepath.Join(e.spool, "alice"))
	if !strings.Contains(got, "\nX-Original-To: alice\nDelivered-To: alice@example.test\n") {
		t.Errorf("mbox:\n%q", got)
	}
}

func TestHomeMbox(t *testing.T) {
	e := newEnv(t)
	e.cfg.HomeMailbox = "Mailbox"
	expect(t, e.deliver1("alice@example.test"), deliver.Sent, "2.0.0", "delivered to mailbox")
	if got := readFile(t, filepath.Join(e.home["alice"], "Mailbox")); got != wantMbox {
		t.Errorf("mbox:\n%q", got)
	}
}

func TestMaildir(t *testing.T) {
	e := newEnv(t)
	e.cfg.HomeMailbox = "Maildir/"
	expect(t, e.deliver1("alice@example.test"), deliver.Sent, "2.0.0", "delivered to maildir")
	md := filepath.Join(e.home["alice"], "Maildir")
	for _, d := range []string{"", "tmp", "new", "cur"} {
		uid, _, mode := ownerOf(t, filepath.Join(md, d))
		if !mode.IsDir() || mode.Perm() != 0o700 || isRoot() && uid != aliceUID {
			t.Errorf("%s: %v uid %d", d, mode, uid)
		}
	}
	if tmp, _ := os.ReadDir(filepath.Join(md, "tmp")); len(tmp) != 0 {
		t.Errorf("tmp not empty: %v", tmp)
	}
	files, _ := os.ReadDir(filepath.Join(md, "new"))
	if len(files) != 1 {
		t.Fatalf("new: %v", files)
	}
	name := regexp.MustCompile(`^1772874303\.M123456P\d+Q\d+\.mx\.example\.test$`)
	if !name.MatchString(files[0].Name()) {
		t.Errorf("file name %q", files[0].Name())
	}
	want := "Return-Path: <sender@remote.test>\nX-Original-To: alice@example.test\nDelivered-To: alice@example.test\n" +
		"Subject: test\nFrom: sender@remote.test\n\nFrom the start\n>From quoted already\nline\n"
	path := filepath.Join(md, "new", files[0].Name())
	if got := readFile(t, path); got != want {
		t.Errorf("message:\n%q\nwant\n%q", got, want)
	}
	if uid, _, mode := ownerOf(t, path); mode.Perm() != 0o600 || isRoot() && uid != aliceUID {
		t.Errorf("message file uid %d %v", uid, mode)
	}
	// A second delivery in the same microsecond gets another name; it
	// takes the way into a Maildir that exists, and chowns as well.
	e.deliver1("alice@example.test")
	files, _ = os.ReadDir(filepath.Join(md, "new"))
	if len(files) != 2 {
		t.Fatalf("new after two deliveries: %v", files)
	}
	for _, f := range files {
		if uid, _, mode := ownerOf(t, filepath.Join(md, "new", f.Name())); mode.Perm() != 0o600 || isRoot() && uid != aliceUID {
			t.Errorf("%s: uid %d %v", f.Name(), uid, mode)
		}
	}
}

func TestSpoolMaildir(t *testing.T) {
	e := newEnv(t)
	e.cfg.MailSpoolDirectory = e.spool + "/"
	expect(t, e.deliver1("bob@example.test"), deliver.Sent, "2.0.0", "delivered to maildir")
	if files, _ := os.ReadDir(filepath.Join(e.spool, "bob", "new")); len(files) != 1 {
		t.Errorf("new: %v", files)
	}
}

func TestMaildirHostNameEscaped(t *testing.T) {
	e := newEnv(t)
	e.cfg.MyHostname = "odd/host:name"
	if got := e.agent().store.UniqueName(); !strings.HasSuffix(got, `.odd\057host\072name`) {
		t.Errorf("name %q", got)
	}
}

func TestMissingHomeDefers(t *testing.T) {
	e := newEnv(t)
	e.cfg.HomeMailbox = "Maildir/"
	os.RemoveAll(e.home["alice"])
	r := e.deliver1("alice@example.test")
	if r.Kind != deliver.Deferred || r.DSN != "4.3.0" || !strings.HasPrefix(r.Reason, "cannot access home directory "+e.home["alice"]+": ") {
		t.Errorf("%+v", r)
	}
}

func TestSymlinkAttacksRefused(t *testing.T) {
	tests := []struct {
		name   string
		home   string // home_mailbox; "" = spool
		plant  func(e *env, victim string)
		reason string
	}{
		{"spool mbox is a symlink", "", func(e *env, v string) {
			os.Symlink(v, filepath.Join(e.spool, "alice"))
		}, "cannot update mailbox %SPOOL/alice for user alice. file is a symbolic link"},
		{"spool mbox symlink inside the spool", "", func(e *env, v string) {
			os.WriteFile(filepath.Join(e.spool, "other"), nil, 0o600)
			os.Symlink("other", filepath.Join(e.spool, "alice"))
		}, "cannot update mailbox %SPOOL/alice for user alice. file is a symbolic link"},
		{"spool mbox is a hard link", "", func(e *env, v string) {
			if err := os.Link(v, filepath.Join(e.spool, "alice")); err != nil {
				panic(err)
			}
		}, "cannot update mailbox %SPOOL/alice for user alice. file has 2 hard links"},
		{"home mbox is a symlink", "Mailbox", func(e *env, v string) {
			os.Symlink(v, filepath.Join(e.home["alice"], "Mailbox"))
		}, "cannot update mailbox %HOME/Mailbox for user alice. file is a symbolic link"},
		{"Maildir is a symlink", "Maildir/", func(e *env, v string) {
			os.Symlink(filepath.Dir(v), filepath.Join(e.home["alice"], "Maildir"))
		}, "maildir delivery failed: create maildir directory %HOME/Maildir: file is a symbolic link"},
		{"Maildir/new is a symlink", "Maildir/", func(e *env, v string) {
			os.MkdirAll(filepath.Join(e.home["alice"], "Maildir", "tmp"), 0o700)
			os.Symlink(filepath.Dir(v), filepath.Join(e.home["alice"], "Maildir", "new"))
		}, "maildir delivery failed: create maildir directory %HOME/Maildir/new: file is a symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.HomeMailbox = tt.home
			victimDir := filepath.Join(e.dir, "victim")
			os.Mkdir(victimDir, 0o700)
			victim := filepath.Join(victimDir, "passwd")
			os.WriteFile(victim, []byte("root:x:0:0\n"), 0o644)
			tt.plant(e, victim)
			reason := strings.NewReplacer("%SPOOL", e.spool, "%HOME", e.home["alice"]).Replace(tt.reason)
			expect(t, e.deliver1("alice@example.test"), deliver.Bounced, "5.2.0", reason)
			if got := readFile(t, victim); got != "root:x:0:0\n" {
				t.Errorf("victim written: %q", got)
			}
			if entries, _ := os.ReadDir(victimDir); len(entries) != 1 {
				t.Errorf("files created next to the victim: %v", entries)
			}
		})
	}
}

func TestMailboxNotOwnedByRecipient(t *testing.T) {
	if !isRoot() {
		t.Skip("ownership is only enforced as root")
	}
	e := newEnv(t)
	mbox := filepath.Join(e.spool, "alice")
	os.WriteFile(mbox, nil, 0o600)
	os.Chown(mbox, bobUID, aliceGID)
	expect(t, e.deliver1("alice@example.test"), deliver.Deferred, "4.2.0",
		"cannot update mailbox "+mbox+" for user alice. destination "+mbox+" is not owned by recipient")
	// postern refuses strict_mailbox_ownership = no: no hint to set it.
	if log := e.logbuf.String(); strings.Contains(log, "strict_mailbox_ownership") || !strings.Contains(log, "is owned by uid") {
		t.Errorf("log:\n%s", log)
	}
}

func TestSizeLimitTruncates(t *testing.T) {
	e := newEnv(t)
	mbox := filepath.Join(e.spool, "alice")
	e.deliver1("alice@example.test")
	before := readFile(t, mbox)
	e.cfg.MailboxSizeLimit = int64(len(before)) + 50 // room for part of a message
	expect(t, e.deliver1("alice@example.test"), deliver.Bounced, "5.2.2",
		"cannot update mailbox "+mbox+" for user alice. error writing message: File too large")
	if got := readFile(t, mbox); got != before {
		t.Errorf("mailbox not cut back: %d bytes, was %d", len(got), len(before))
	}
	e.cfg.HomeMailbox = "Maildir/"
	e.cfg.MailboxSizeLimit = 20
	r := e.deliver1("alice@example.test")
	if r.Kind != deliver.Bounced || r.DSN != "5.2.2" || r.Reason != "maildir delivery failed: error writing message: File too large" {
		t.Errorf("maildir: %+v", r)
	}
	md := filepath.Join(e.home["alice"], "Maildir")
	for _, d := range []string{"tmp", "new"} {
		if files, _ := os.ReadDir(filepath.Join(md, d)); len(files) != 0 {
			t.Errorf("%s: %v", d, files)
		}
	}
}

func TestLockedByAnotherProcess(t *testing.T) {
	e := newEnv(t)
	mbox := filepath.Join(e.spool, "alice")
	e.deliver1("alice@example.test")
	release := holdLock(t, mbox)
	expect(t, e.deliver1("alice@example.test"), deliver.Deferred, "4.2.0",
		"cannot update mailbox "+mbox+" for user alice. unable to lock for exclusive access: Resource temporarily unavailable")
	if _, err := os.Stat(mbox + ".lock"); !os.IsNotExist(err) {
		t.Errorf("dotlock left behind: %v", err)
	}
	release()
	expect(t, e.deliver1("alice@example.test"), deliver.Sent, "2.0.0", "delivered to mailbox")
	if got := readFile(t, mbox); got != wantMbox+wantMbox {
		t.Errorf("mailbox after the lock was released:\n%q", got)
	}
}

func TestWaitsForLockHolder(t *testing.T) {
	e := newEnv(t)
	e.cfg.LockAttempts = 100
	mbox := filepath.Join(e.spool, "alice")
	e.deliver1("alice@example.test")
	release := holdLock(t, mbox)
	time.AfterFunc(100*time.Millisecond, release)
	start := time.Now()
	expect(t, e.deliver1("alice@example.test"), deliver.Sent, "2.0.0", "delivered to mailbox")
	if time.Since(start) < 100*time.Millisecond {
		t.Error("did not wait for the lock")
	}
}

func TestDotlock(t *testing.T) {
	e := newEnv(t)
	mbox := filepath.Join(e.spool, "alice")
	os.WriteFile(mbox+".lock", nil, 0)
	expect(t, e.deliver1("alice@example.test"), deliver.Deferred, "4.2.0",
		"cannot update mailbox "+mbox+" for user alice. unable to create lock file "+mbox+".lock: File exists")
	if _, err := os.Stat(mbox + ".lock"); err != nil {
		t.Errorf("someone else's dotlock removed: %v", err)
	}
	// A lock older than stale_lock_time is removed.
	old := testTime.Add(-501 * time.Second)
	os.Chtimes(mbox+".lock", old, old)
	expect(t, e.deliver1("alice@example.test"), deliver.Sent, "2.0.0", "delivered to mailbox")
	if !strings.Contains(e.logbuf.String(), "removing stale lock file") {
		t.Errorf("log: %s", e.logbuf.String())
	}
}

func TestConcurrentDeliveriesDoNotInterleave(t *testing.T) {
	e := newEnv(t)
	e.cfg.LockAttempts = 1000
	e.cfg.LockDelay = time.Millisecond
	a := e.agent()
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 99)+"\r\n", 2000)
	var wg sync.WaitGroup
	const n = 8
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := a.Deliver(context.Background(), request(big, "alice@example.test"))
			if r[0].Kind != deliver.Sent {
				t.Errorf("%+v", r[0])
			}
		}()
	}
	wg.Wait()
	one := "From sender@remote.test  Sat Mar  7 09:05:03 2026\nReturn-Path: <sender@remote.test>\n" +
		"X-Original-To: alice@example.test\nDelivered-To: alice@example.test\nSubject: big\n\n" +
		strings.Repeat(strings.Repeat("x", 99)+"\n", 2000) + "\n"
	if got := readFile(t, filepath.Join(e.spool, "alice")); got != strings.Repeat(one, n) {
		t.Errorf("mailbox of %d bytes is not %d whole messages", len(got), n)
	}
}

func TestUnknownUsers(t *testing.T) {
	e := newEnv(t)
	e.cfg.RecipientDelimiter = "+"
	expect(t, e.deliver1("ghost@example.test"), deliver.Bounced, "5.1.1", `unknown user: "ghost"`)
	expect(t, e.deliver1("Ghost+Ext@example.test"), deliver.Bounced, "5.1.1", `unknown user: "ghost+ext"`)
	// Postfix throws mail for these away rather than bounce it.
	expect(t, e.deliver1("postmaster@example.test"), deliver.Sent, "2.0.0", "discarded")
	expect(t, e.deliver1("MAILER-DAEMON@example.test"), deliver.Sent, "2.0.0", "discarded")
	if !strings.Contains(e.logbuf.String(), "required alias not found: postmaster") {
		t.Errorf("log: %s", e.logbuf.String())
	}
	// A user database that fails defers.
	e.cfg.Users = failingUsers{}
	expect(t, e.deliver1("alice@example.test"), deliver.Deferred, "4.0.0", "user lookup error")
}

type failingUsers struct{}

func (failingUsers) Lookup(string) (*User, error) { return nil, fmt.Errorf("nss down") }
func (failingUsers) LookupID(int) (*User, error)  { return nil, fmt.Errorf("nss down") }

func TestExtensionAddresses(t *testing.T) {
	e := newEnv(t)
	e.cfg.RecipientDelimiter = "+-"
	for _, rcpt := range []string{"alice+box@example.test", "alice-box@example.test", "ALICE+Box+more@example.test"} {
		expect(t, e.deliver1(rcpt), deliver.Sent, "2.0.0", "delivered to mailbox")
	}
	if got := strings.Count(readFile(t, filepath.Join(e.spool, "alice")), "\nSubject: test\n"); got != 3 {
		t.Errorf("%d messages in alice's mailbox", got)
	}
	e.cfg.RecipientDelimiter = ""
	expect(t, e.deliver1("alice+box@example.test"), deliver.Bounced, "5.1.1", `unknown user: "alice+box"`)
}

func TestRecipientsAndContext(t *testing.T) {
	e := newEnv(t)
	a := e.agent()
	req := request(testBody, "ghost@example.test", "alice@example.test", "bob@example.test")
	req.Rcpts = []int{2, 0}
	res := a.Deliver(context.Background(), req)
	if len(res) != 2 || res[0].Rcpt != 2 || res[0].Kind != deliver.Sent || res[1].Rcpt != 0 || res[1].Kind != deliver.Bounced {
		t.Errorf("%+v", res)
	}
	if _, err := os.Stat(filepath.Join(e.spool, "alice")); !os.IsNotExist(err) {
		t.Error("alice was not asked for but got mail")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = a.Deliver(ctx, request(testBody, "alice@example.test"))
	expect(t, res[0], deliver.Deferred, "4.3.0", "delivery interrupted: context canceled")
}

// A queued message's Maildir copy is named after its queue ID and
// recipient index, so an attempt repeated after a crash (the copy was
// made, the queue had not recorded it) finds the copy instead of making a
// second one; a stale temporary file of the crashed attempt is replaced.
func TestMaildirRetryAfterCrashMakesNoDuplicate(t *testing.T) {
	e := newEnv(t)
	e.cfg.HomeMailbox = "Maildir/"
	req := queuedRequest(testBody, "alice@example.test", "ALICE@example.test")
	md := filepath.Join(e.home["alice"], "Maildir")
	for attempt := range 2 {
		if attempt == 1 { // what a crash between open and link leaves
			os.WriteFile(filepath.Join(md, "tmp", copyName(req, 0)), []byte("half"), 0o600)
		}
		for _, r := range e.agent().Deliver(context.Background(), req) {
			expect(t, r, deliver.Sent, "2.0.0", "delivered to maildir")
		}
	}
	if tmp, _ := os.ReadDir(filepath.Join(md, "tmp")); len(tmp) != 0 {
		t.Errorf("tmp keeps %v", tmp)
	}
	files, _ := os.ReadDir(filepath.Join(md, "new"))
	if len(files) != 2 { // one per recipient, however many attempts
		t.Fatalf("new holds %v", files)
	}
	want := regexp.MustCompile(`^\d+\.Q` + req.ID + `R[01]\.mx\.example\.test$`)
	for _, f := range files {
		if !want.MatchString(f.Name()) {
			t.Errorf("file name %q", f.Name())
		}
		if got := readFile(t, filepath.Join(md, "new", f.Name())); !strings.HasSuffix(got, "line\n") {
			t.Errorf("%s: %q", f.Name(), got)
		}
	}
	if !strings.Contains(e.logbuf.String(), "already holds this message") {
		t.Errorf("the retry did not say it found the copy:\n%s", e.logbuf.String())
	}
}

// The user's delivery slot is released once the copies are linked into
// new/, before the directory fsync; a failed fsync defers the recipient,
// and the retry finds the copy instead of making a second.
func TestMaildirReleaseAndDirectorySync(t *testing.T) {
	for _, pending := range []int{64, 1} { // 1: every fsync runs at once
		t.Run(fmt.Sprint(pending), func(t *testing.T) {
			old := mailstore.MaxPending
			t.Cleanup(func() { mailstore.MaxPending = old })
			mailstore.MaxPending = pending
			releaseAndDirectorySync(t)
		})
	}
}

func releaseAndDirectorySync(t *testing.T) {
	e := newEnv(t)
	e.cfg.HomeMailbox = "Maildir/"
	req := queuedRequest(testBody, "alice@example.test", "bob@example.test")
	newDir := func(user string) string { return filepath.Join(e.home[user], "Maildir", "new") }
	var released, syncs, syncsAtRelease int
	req.Release = func() {
		released++
		syncsAtRelease = syncs
		for _, u := range []string{"alice", "bob"} {
			if files, _ := os.ReadDir(newDir(u)); len(files) != 1 {
				t.Errorf("released before %s's copy was in new/: %v", u, files)
			}
		}
	}
	old := mailstore.SyncDir
	t.Cleanup(func() { mailstore.SyncDir = old })
	mailstore.SyncDir = func(name string, fd int) error {
		syncs++
		if strings.HasPrefix(name, newDir("bob")) {
			return errors.New("injected")
		}
		return old(name, fd)
	}
	res := e.agent().Deliver(context.Background(), req)
	if released != 1 {
		t.Errorf("Release called %d times", released)
	}
	// The directory fsyncs wait for Release, unless too many are pending
	// (then they run as they come, and hold no directory open).
	if want := map[bool]int{true: 2, false: 0}[mailstore.MaxPending == 1]; syncsAtRelease != want || syncs != 2 {
		t.Errorf("%d of %d directory fsyncs before Release, want %d", syncsAtRelease, syncs, want)
	}
	expect(t, res[0], deliver.Sent, "2.0.0", "delivered to maildir")
	expect(t, res[1], deliver.Deferred, "4.3.0", "maildir delivery failed: fsync directory "+newDir("bob")+": injected")
	mailstore.SyncDir = old
	req.Rcpts, req.Release = []int{1}, nil
	expect(t, e.agent().Deliver(context.Background(), req)[0], deliver.Sent, "2.0.0", "delivered to maildir")
	if files, _ := os.ReadDir(newDir("bob")); len(files) != 1 {
		t.Errorf("bob's new/ after the retry: %v", files)
	}
}

// A file in new/ with a copy's name but not its size is another message
// (a queue ID reused after the clock went back): the copy is delivered
// under a unique name beside it.
func TestMaildirNameTakenByAnotherMessage(t *testing.T) {
	e := newEnv(t)
	e.cfg.HomeMailbox = "Maildir/"
	req := queuedRequest(testBody, "alice@example.test")
	newDir := filepath.Join(e.home["alice"], "Maildir", "new")
	if err := os.MkdirAll(newDir, 0o700); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(newDir, copyName(req, 0))
	if err := os.WriteFile(other, []byte("Subject: another message\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	expect(t, e.agent().Deliver(context.Background(), req)[0], deliver.Sent, "2.0.0", "delivered to maildir")
	files, _ := os.ReadDir(newDir)
	if len(files) != 2 {
		t.Fatalf("new/ holds %v, want the other message and this copy", files)
	}
	if got := readFile(t, other); got != "Subject: another message\n\n" {
		t.Errorf("the other message was changed: %q", got)
	}
}

// A copy's name in tmp/ that cannot be had (a directory sits there) fails
// the delivery with the path in the reason, and leaves new/ alone.
func TestMaildirTmpNameUnusable(t *testing.T) {
	e := newEnv(t)
	e.cfg.HomeMailbox = "Maildir/"
	req := queuedRequest(testBody, "alice@example.test")
	blocker := filepath.Join(e.home["alice"], "Maildir", "tmp", copyName(req, 0))
	if err := os.MkdirAll(blocker, 0o700); err != nil {
		t.Fatal(err)
	}
	r := e.agent().Deliver(context.Background(), req)[0]
	if r.Kind == deliver.Sent || !strings.Contains(r.Reason, "create maildir file "+blocker+": File exists") {
		t.Errorf("result %v %s %q", r.Kind, r.DSN, r.Reason)
	}
	if files, _ := os.ReadDir(filepath.Join(e.home["alice"], "Maildir", "new")); len(files) != 0 {
		t.Errorf("new/ holds %v", files)
	}
}
