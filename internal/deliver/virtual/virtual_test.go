package virtual

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
	"github.com/postern-mta/postern/internal/maps"
)

const wantMaildir = "Return-Path: <sender@remote.test>\n" +
	"X-Original-To: alice@v.test\n" +
	"Delivered-To: alice@v.test\n" +
	"Subject: test\nFrom: sender@remote.test\n\nFrom the start\nline\n"

const wantMbox = "From sender@remote.test  Sat Mar  7 09:05:03 2026\n" +
	"Return-Path: <sender@remote.test>\n" +
	"X-Original-To: carol@v.test\n" +
	"Delivered-To: carol@v.test\n" +
	"Subject: test\nFrom: sender@remote.test\n\n>From the start\nline\n\n"

// A Maildir result ("v.test/alice/") is created below the base, every
// missing directory and the copy owned by the uid and gid of the maps,
// and the copy is named after the queue ID and recipient so that a
// retry finds it.
func TestMaildir(t *testing.T) {
	e := newEnv(t)
	req := request(testBody, "alice@v.test")
	expect(t, e.agent().Deliver(context.Background(), req)[0], deliver.Sent, "2.0.0", "delivered to maildir")
	name := mailstore.MaildirName(req.ID, 0, "mx.example.test")
	file := filepath.Join(e.base, "v.test", "alice", "new", name)
	if got := readFile(t, file); got != wantMaildir {
		t.Errorf("copy:\n%q\nwant\n%q", got, wantMaildir)
	}
	for _, sub := range []string{"tmp", "cur"} {
		if st, err := os.Stat(filepath.Join(e.base, "v.test", "alice", sub)); err != nil || !st.IsDir() {
			t.Errorf("%s: %v", sub, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(e.base, "v.test", "alice", "tmp")); len(entries) != 0 {
		t.Errorf("tmp/ holds %v", entries)
	}
	if !isRoot() {
		return
	}
	for _, p := range []string{"v.test", "v.test/alice", "v.test/alice/new", "v.test/alice/tmp", "v.test/alice/cur", "v.test/alice/new/" + name} {
		uid, gid, mode := ownerOf(t, filepath.Join(e.base, p))
		if uid != vmailUID || gid != vmailGID {
			t.Errorf("%s owned by %d:%d, want %d:%d", p, uid, gid, vmailUID, vmailGID)
		}
		if want := os.FileMode(0o700); mode.IsDir() && mode.Perm() != want || !mode.IsDir() && mode.Perm() != 0o600 {
			t.Errorf("%s mode %v", p, mode)
		}
	}
}

// An mbox result ("v.test/carol") is appended to under its locks, in
// mbox format, created for the owner.
func TestMbox(t *testing.T) {
	e := newEnv(t)
	e.mkdir("v.test")
	expect(t, e.deliver1("carol@v.test"), deliver.Sent, "2.0.0", "delivered to mailbox")
	mbox := filepath.Join(e.base, "v.test", "carol")
	if got := readFile(t, mbox); got != wantMbox {
		t.Errorf("mbox:\n%q\nwant\n%q", got, wantMbox)
	}
	if isRoot() {
		if uid, gid, mode := ownerOf(t, mbox); uid != vmailUID || gid != vmailGID || mode.Perm() != 0o600 {
			t.Errorf("mailbox %d:%d %v", uid, gid, mode)
		}
	}
	expect(t, e.deliver1("carol@v.test"), deliver.Sent, "2.0.0", "delivered to mailbox")
	if got := readFile(t, mbox); got != wantMbox+wantMbox {
		t.Errorf("second delivery:\n%q", got)
	}
	if _, err := os.Stat(mbox + ".lock"); !os.IsNotExist(err) {
		t.Errorf("dotlock left behind: %v", err)
	}
}

// virtual_mailbox_lock: without dotlock, a taken dotlock is not waited
// for; with it, the delivery is deferred.
func TestMailboxLock(t *testing.T) {
	for _, tc := range []struct {
		locks []string
		kind  deliver.Kind
	}{
		{[]string{"fcntl", "dotlock"}, deliver.Deferred},
		{[]string{"fcntl"}, deliver.Sent},
		{[]string{"flock"}, deliver.Sent},
	} {
		e := newEnv(t)
		dir := e.mkdir("v.test")
		lock := filepath.Join(dir, "carol.lock")
		os.WriteFile(lock, nil, 0o600)
		var err error
		if e.cfg.Locks, err = e.cfg.Locks.ParseLocks(tc.locks); err != nil {
			t.Fatal(err)
		}
		r := e.deliver1("carol@v.test")
		if r.Kind != tc.kind {
			t.Errorf("%v with %s held: %v %s %q", tc.locks, lock, r.Kind, r.DSN, r.Reason)
		}
		if tc.kind == deliver.Deferred && (r.DSN != "4.2.0" || !strings.Contains(r.Reason, "unable to create lock file "+lock)) {
			t.Errorf("%v: %s %q", tc.locks, r.DSN, r.Reason)
		}
	}
	// A flock another open file holds keeps a flock delivery out.
	e := newEnv(t)
	dir := e.mkdir("v.test")
	mbox := filepath.Join(dir, "carol")
	os.WriteFile(mbox, nil, 0o600)
	e.chownVmail(mbox)
	f, err := os.Open(mbox)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if e.cfg.Locks, err = e.cfg.Locks.ParseLocks([]string{"flock"}); err != nil {
		t.Fatal(err)
	}
	expect(t, e.deliver1("carol@v.test"), deliver.Deferred, "4.2.0",
		"delivery failed to mailbox "+mbox+": unable to lock for exclusive access: Resource temporarily unavailable")
	if _, err := mailstore.DefaultLocks().ParseLocks([]string{"fcntl", "lockf"}); err == nil {
		t.Error("lock method lockf accepted")
	}
}

// Unknown addresses bounce with Postfix's text (the address folded);
// every other failure to find the mailbox or its owner defers.
func TestLookupFailures(t *testing.T) {
	const cfgErr = "mail system configuration error"
	tests := []struct {
		name    string
		rcpt    string
		setup   func(e *env)
		kind    deliver.Kind
		dsn     string
		reason  string
		warning string
	}{
		{"unknown user", "Nobody@V.Test", nil, deliver.Bounced, "5.1.1", `unknown user: "nobody@v.test"`, ""},
		{"no virtual_mailbox_maps", "alice@v.test", func(e *env) { e.cfg.MailboxMaps = nil },
			deliver.Bounced, "5.1.1", `unknown user: "alice@v.test"`, ""},
		{"mailbox table down", "alice@v.test", func(e *env) {
			e.cfg.MailboxMaps = []maps.Table{brokenTable{}}
		}, deliver.Deferred, "4.3.5", cfgErr, "table virtual_mailbox_maps: lookup alice@v.test: connection refused"},
		{"a later table down", "bob@v.test", func(e *env) {
			e.cfg.MailboxMaps = append(e.cfg.MailboxMaps, brokenTable{})
		}, deliver.Deferred, "4.3.5", cfgErr, "table virtual_mailbox_maps: lookup bob@v.test"},
		{"uid below virtual_minimum_uid", "alice@v.test", func(e *env) {
			e.cfg.UIDMaps = []maps.Table{e.table("static:99")}
		}, deliver.Deferred, "4.3.5", cfgErr, "recipient alice@v.test: bad uid 99 in virtual_uid_maps"},
		{"uid root", "alice@v.test", func(e *env) {
			e.cfg.UIDMaps = []maps.Table{e.table("static:0")}
			e.cfg.MinimumUID = 1
		}, deliver.Deferred, "4.3.5", cfgErr, "recipient alice@v.test: bad uid 0 in virtual_uid_maps"},
		{"uid not a number", "alice@v.test", func(e *env) {
			e.cfg.UIDMaps = []maps.Table{e.table("static:vmail")}
		}, deliver.Deferred, "4.3.5", cfgErr, "recipient alice@v.test: bad uid vmail in virtual_uid_maps"},
		{"uid not found", "alice@v.test", func(e *env) {
			e.cfg.UIDMaps = []maps.Table{e.table("inline:{ carol@v.test=5000 }")}
		}, deliver.Deferred, "4.3.5", cfgErr, "recipient alice@v.test: not found in virtual_uid_maps"},
		{"uid table down", "alice@v.test", func(e *env) {
			e.cfg.UIDMaps = []maps.Table{brokenTable{}}
		}, deliver.Deferred, "4.3.5", cfgErr, "recipient alice@v.test: not found in virtual_uid_maps: connection refused"},
		{"gid 0", "alice@v.test", func(e *env) {
			e.cfg.GIDMaps = []maps.Table{e.table("static:0")}
		}, deliver.Deferred, "4.3.5", cfgErr, "recipient alice@v.test: bad gid 0 in virtual_gid_maps"},
		{"no virtual_gid_maps", "alice@v.test", func(e *env) { e.cfg.GIDMaps = nil },
			deliver.Deferred, "4.3.5", cfgErr, "recipient alice@v.test: not found in virtual_gid_maps"},
		{"mailbox outside the base", "alice@v.test", func(e *env) {
			e.cfg.MailboxMaps = []maps.Table{e.table("inline:{ alice@v.test=../../etc/ }")}
		}, deliver.Deferred, "4.3.5", cfgErr, "recipient alice@v.test: mailbox ../../etc/ in virtual_mailbox_maps is not below virtual_mailbox_base"},
		{"mailbox of another domain through ..", `../w.test/victim@v.test`, func(e *env) {
			re := filepath.Join(e.dir, "mailbox.regexp")
			os.WriteFile(re, []byte(`/^(.*)@v\.test$/ v.test/${1}/`+"\n"), 0o644)
			e.cfg.MailboxMaps = []maps.Table{e.table("regexp:" + re)}
		}, deliver.Deferred, "4.3.5", cfgErr, `recipient ../w.test/victim@v.test: mailbox v.test/../w.test/victim/ in virtual_mailbox_maps names a parent directory (..)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.setup != nil {
				tt.setup(e)
			}
			expect(t, e.deliver1(tt.rcpt), tt.kind, tt.dsn, tt.reason)
			if tt.warning != "" && !strings.Contains(e.log.String(), tt.warning) {
				t.Errorf("log lacks %q:\n%s", tt.warning, e.log.String())
			}
			if entries, _ := os.ReadDir(e.base); len(entries) != 0 {
				t.Errorf("the base holds %v", entries)
			}
		})
	}
}

// Lookups: the whole address, then without its extension, then
// @domain, each key in every table before the next; pattern tables get
// the whole address only.
func TestLookupOrder(t *testing.T) {
	first := &recorder{m: map[string]string{"@v.test": "catchall/"}}
	second := &recorder{m: map[string]string{"alice@v.test": "alice/", "alice+list@v.test": "list/"}}
	tables := []maps.Table{first, second}
	for _, tc := range []struct {
		addr, delim, want string
		keys              []string // asked of the first table
	}{
		{"alice+list@v.test", "+", "list/", []string{"alice+list@v.test"}},
		{"alice+news@v.test", "+", "alice/", []string{"alice+news@v.test", "alice@v.test"}},
		{"alice-news@v.test", "+-", "alice/", []string{"alice-news@v.test", "alice@v.test"}},
		{"alice+news@v.test", "", "catchall/", []string{"alice+news@v.test", "@v.test"}},
		{"bob@v.test", "+", "catchall/", []string{"bob@v.test", "@v.test"}},
		{"owner-x@v.test", "-", "catchall/", []string{"owner-x@v.test", "@v.test"}},
	} {
		first.keys = nil
		got, found, err := find(tables, tc.addr, tc.delim)
		if err != nil || !found || got != tc.want || !slices.Equal(first.keys, tc.keys) {
			t.Errorf("find(%s, %q) = %q %v %v, asked %q; want %q, asked %q", tc.addr, tc.delim, got, found, err, first.keys, tc.want, tc.keys)
		}
	}
	reFile := filepath.Join(t.TempDir(), "re")
	os.WriteFile(reFile, []byte("/^alice@/ regexp/\n"), 0o644)
	re, err := maps.Open("regexp:" + reFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, _ := find([]maps.Table{re}, "bob@v.test", "+"); found {
		t.Error("a pattern table was asked a partial key")
	}
	if got, _, _ := find([]maps.Table{re}, "alice@v.test", "+"); got != "regexp/" {
		t.Errorf("regexp: %q", got)
	}

	// Through the agent: extension, case, catch-all.
	e := newEnv(t)
	e.cfg.RecipientDelimiter = "+"
	e.cfg.MailboxMaps = []maps.Table{e.table("inline:{ alice@v.test=v.test/alice/, @v.test=v.test/catchall/ }")}
	for rcpt, dir := range map[string]string{"Alice+Lists@V.test": "alice", "zed@v.test": "catchall"} {
		expect(t, e.deliver1(rcpt), deliver.Sent, "2.0.0", "delivered to maildir")
		if entries, _ := os.ReadDir(filepath.Join(e.base, "v.test", dir, "new")); len(entries) != 1 {
			t.Errorf("%s: %s/new holds %v", rcpt, dir, entries)
		}
	}
}

func TestAtol(t *testing.T) {
	for in, want := range map[string]int64{"5000": 5000, " 42x": 42, "+7": 7, "-3": -3, "": 0, "x1": 0} {
		if got := atol(in); got != want {
			t.Errorf("atol(%q) = %d, want %d", in, got, want)
		}
	}
	if got := atol("99999999999999999999999"); got < 1<<31 {
		t.Errorf("atol of a huge number: %d", got)
	}
}

// virtual_mailbox_limit bounds the file the copy goes into: too large
// bounces (mailbox full), and an mbox is cut back to its old size.
func TestMailboxLimit(t *testing.T) {
	e := newEnv(t)
	e.mkdir("v.test")
	mbox := filepath.Join(e.base, "v.test", "carol")
	e.deliver1("carol@v.test")
	before := readFile(t, mbox)
	e.cfg.MailboxLimit, e.cfg.MessageSizeLimit = int64(len(before))+50, 10
	expect(t, e.deliver1("carol@v.test"), deliver.Bounced, "5.2.2",
		"delivery failed to mailbox "+mbox+": error writing message: File too large")
	if got := readFile(t, mbox); got != before {
		t.Errorf("mailbox not cut back: %d bytes, was %d", len(got), len(before))
	}
	e.cfg.MailboxLimit = 50
	expect(t, e.deliver1("alice@v.test"), deliver.Bounced, "5.2.2", "maildir delivery failed: error writing message: File too large")
	if entries, _ := os.ReadDir(filepath.Join(e.base, "v.test", "alice", "new")); len(entries) != 0 {
		t.Errorf("new/ holds %v", entries)
	}
}

// New refuses what Postfix's virtual(8) refuses at start.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		set  func(c *Config)
		want string
	}{
		{func(c *Config) { c.MailboxBase = "" }, "virtual_mailbox_base is empty"},
		{func(c *Config) { c.MailboxBase = "var/vmail" }, "do not specify relative pathname: virtual_mailbox_base = var/vmail"},
		{func(c *Config) { c.MailboxLimit = 1000 }, "virtual_mailbox_limit is smaller than message_size_limit"},
		{func(c *Config) { c.MessageSizeLimit = 0 }, "virtual_mailbox_limit is limited but message_size_limit is unlimited"},
	} {
		e := newEnv(t)
		tc.set(&e.cfg)
		if _, err := New(e.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New: %v, want %q", err, tc.want)
		}
	}
}

// A retry of a delivery whose copy is in new/ (the agent died before the
// queue recorded it) finds it instead of making a second.
func TestRetryFindsCopy(t *testing.T) {
	e := newEnv(t)
	req := request(testBody, "alice@v.test")
	for range 3 {
		expect(t, e.agent().Deliver(context.Background(), req)[0], deliver.Sent, "2.0.0", "delivered to maildir")
	}
	if entries, _ := os.ReadDir(filepath.Join(e.base, "v.test", "alice", "new")); len(entries) != 1 {
		t.Errorf("new/ holds %v", entries)
	}
	if !strings.Contains(e.log.String(), "already holds this message") {
		t.Errorf("the retry did not say it found the copy:\n%s", e.log.String())
	}
}

// The delivery runs with the owner's rights, not root's: a base the
// owner cannot write into defers (Postfix: "maildir access problem"),
// and root's own file in the way is not written.
func TestNotAsRoot(t *testing.T) {
	if !isRoot() {
		t.Skip("needs root: without it everything runs as the test's user")
	}
	e := newEnv(t)
	os.Chown(e.base, 0, 0) // root's, 0755: closed to vmail
	r := e.deliver1("alice@v.test")
	if r.Kind != deliver.Deferred || r.DSN != "4.2.0" || !strings.HasPrefix(r.Reason, "maildir delivery failed: create maildir directory "+e.base+"/v.test: Permission denied") {
		t.Errorf("%v %s %q", r.Kind, r.DSN, r.Reason)
	}
	if !strings.Contains(e.log.String(), "maildir access problem for UID/GID=54321/54320") {
		t.Errorf("log:\n%s", e.log.String())
	}
	// An mbox root made: refused, not written.
	e = newEnv(t)
	dir := e.mkdir("v.test")
	mbox := filepath.Join(dir, "carol")
	os.WriteFile(mbox, []byte("root's\n"), 0o600)
	r = e.deliver1("carol@v.test")
	if r.Kind != deliver.Deferred || !strings.HasPrefix(r.Reason, "delivery failed to mailbox "+mbox+": ") {
		t.Errorf("%v %s %q", r.Kind, r.DSN, r.Reason)
	}
	if got := readFile(t, mbox); got != "root's\n" {
		t.Errorf("root's file written: %q", got)
	}
	// One vmail can write but that another uid owns: not its mailbox.
	os.Chown(mbox, otherUID, vmailGID)
	os.Chmod(mbox, 0o666)
	expect(t, e.deliver1("carol@v.test"), deliver.Deferred, "4.2.0",
		"delivery failed to mailbox "+mbox+": destination "+mbox+" is not owned by recipient")
	// postern refuses strict_mailbox_ownership = no: no hint to set it.
	if log := e.log.String(); strings.Contains(log, "strict_mailbox_ownership") || !strings.Contains(log, "is owned by uid") {
		t.Errorf("log:\n%s", log)
	}
}

// Symbolic links planted below the base lead nowhere: not out of the
// base, not to another mailbox.
func TestSymlinkAttacksRefused(t *testing.T) {
	tests := []struct {
		name   string
		plant  func(e *env, victim string)
		rcpt   string
		dsn    string
		reason string
	}{
		{"mbox is a symlink", func(e *env, v string) {
			os.Symlink(v, filepath.Join(e.mkdir("v.test"), "carol"))
		}, "carol@v.test", "4.2.0", "delivery failed to mailbox %BASE/v.test/carol: file is a symbolic link"},
		{"mbox is a symlink inside the base", func(e *env, v string) {
			dir := e.mkdir("v.test")
			os.WriteFile(filepath.Join(dir, "other"), nil, 0o600)
			e.chownVmail(filepath.Join(dir, "other"))
			os.Symlink("other", filepath.Join(dir, "carol"))
		}, "carol@v.test", "4.2.0", "delivery failed to mailbox %BASE/v.test/carol: file is a symbolic link"},
		{"mbox is a hard link", func(e *env, v string) {
			if err := os.Link(v, filepath.Join(e.mkdir("v.test"), "carol")); err != nil {
				panic(err)
			}
		}, "carol@v.test", "4.2.0", "delivery failed to mailbox %BASE/v.test/carol: file has 2 hard links"},
		{"Maildir is a symlink", func(e *env, v string) {
			os.Symlink(filepath.Dir(v), filepath.Join(e.mkdir("v.test"), "alice"))
		}, "alice@v.test", "4.2.0", "maildir delivery failed: create maildir directory %BASE/v.test/alice: file is a symbolic link"},
		{"domain directory is a symlink", func(e *env, v string) {
			os.Symlink(filepath.Dir(v), filepath.Join(e.base, "v.test"))
		}, "alice@v.test", "4.2.0", "maildir delivery failed: create maildir directory %BASE/v.test: file is a symbolic link"},
		{"Maildir/new is a symlink", func(e *env, v string) {
			e.mkdir("v.test/alice/tmp")
			os.Symlink(filepath.Dir(v), filepath.Join(e.base, "v.test", "alice", "new"))
		}, "alice@v.test", "4.2.0", "maildir delivery failed: create maildir directory %BASE/v.test/alice/new: file is a symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			victimDir := filepath.Join(e.dir, "victim")
			os.Mkdir(victimDir, 0o777) // open to all: only the checks protect it
			os.Chmod(victimDir, 0o777)
			victim := filepath.Join(victimDir, "passwd")
			os.WriteFile(victim, []byte("root:x:0:0\n"), 0o666)
			os.Chmod(victim, 0o666)
			e.chownVmail(victim) // even the owner's own file elsewhere
			tt.plant(e, victim)
			expect(t, e.deliver1(tt.rcpt), deliver.Deferred, tt.dsn, strings.ReplaceAll(tt.reason, "%BASE", e.base))
			if got := readFile(t, victim); got != "root:x:0:0\n" {
				t.Errorf("victim written: %q", got)
			}
			if entries, _ := os.ReadDir(victimDir); len(entries) != 1 {
				t.Errorf("files created next to the victim: %v", entries)
			}
		})
	}
}

// Several recipients of one request: each its own result, the
// directory fsyncs after Release.
func TestSeveralRecipients(t *testing.T) {
	e := newEnv(t)
	e.mkdir("v.test")
	req := request(testBody, "alice@v.test", "carol@v.test", "nobody@v.test")
	released := 0
	req.Release = func() { released++ }
	res := e.agent().Deliver(context.Background(), req)
	expect(t, res[0], deliver.Sent, "2.0.0", "delivered to maildir")
	expect(t, res[1], deliver.Sent, "2.0.0", "delivered to mailbox")
	expect(t, res[2], deliver.Bounced, "5.1.1", `unknown user: "nobody@v.test"`)
	if released != 1 || res[2].Rcpt != 2 {
		t.Errorf("released %d times; %+v", released, res)
	}
	req.DirectOnly = true
	if r := e.agent().Deliver(context.Background(), req); r[0].Kind != deliver.Declined {
		t.Errorf("direct delivery: %+v", r[0])
	}
}
