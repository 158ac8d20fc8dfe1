package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
)

// A direct delivery (Request.DirectOnly) stores a copy only in the
// recipient's own Maildir; an alias, whatever it expands to, and an mbox
// (locked, maybe for long, by mail readers) are declined untouched, for
// the queue to deliver.
func TestDirectOnly(t *testing.T) {
	for _, tc := range []struct {
		rcpt, spool, home string
		want              deliver.Kind
	}{
		{"alice@example.test", "spool/", "", deliver.Sent},
		{"alice@example.test", "spool", "Maildir/", deliver.Sent},
		{"team@example.test", "spool/", "", deliver.Declined},
		{"renamed@example.test", "spool/", "", deliver.Declined},
		{"pipe@example.test", "spool/", "", deliver.Declined},
		{"nosuchuser@example.test", "spool/", "", deliver.Bounced},
		{"alice@example.test", "spool", "", deliver.Declined},
		{"alice@example.test", "spool/", "Mailbox", deliver.Declined},
	} {
		e := newEnv(t)
		e.aliases("team: alice, bob\nrenamed: alice\npipe: |/bin/true\n")
		e.cfg.MailSpoolDirectory = filepath.Join(e.dir, tc.spool)
		if tc.spool == "spool/" {
			e.cfg.MailSpoolDirectory += "/"
		}
		e.cfg.HomeMailbox = tc.home
		req := request(testBody, tc.rcpt)
		req.DirectOnly = true
		if r := e.agent().Deliver(context.Background(), req)[0]; r.Kind != tc.want {
			t.Errorf("%s (spool %s, home_mailbox %q): %v %s %q, want kind %v", tc.rcpt, tc.spool, tc.home, r.Kind, r.DSN, r.Reason, tc.want)
		}
		var stored []string
		for _, dir := range []string{filepath.Join(e.spool, "alice", "new"), filepath.Join(e.spool, "bob", "new"),
			filepath.Join(e.home["alice"], "Maildir", "new"), filepath.Join(e.spool, "alice"), filepath.Join(e.home["alice"], "Mailbox")} {
			if _, err := os.Stat(dir); err == nil {
				stored = append(stored, dir)
			}
		}
		if n := map[bool]int{true: 1, false: 0}[tc.want == deliver.Sent]; len(stored) < n || tc.want != deliver.Sent && len(stored) > 0 {
			t.Errorf("%s (spool %s, home_mailbox %q): stored %v", tc.rcpt, tc.spool, tc.home, stored)
		}
	}
}

// A mailbox's first delivery fsyncs the directories that got a new
// entry: the copy's fsync does not make its new Maildir or mbox name
// durable. Later deliveries create nothing and fsync no parent.
func TestNewMailboxEntriesAreSynced(t *testing.T) {
	var synced []string
	old := mailstore.SyncParentDir
	t.Cleanup(func() { mailstore.SyncParentDir = old })
	mailstore.SyncParentDir = func(f *os.File) error {
		synced = append(synced, f.Name())
		return f.Sync()
	}
	for _, tc := range []struct {
		spool string
		want  []string // below the test's directory
	}{
		{"spool/", []string{"spool", "spool/alice", "spool/alice", "spool/alice"}}, // alice/, then tmp, new, cur
		{"spool", []string{"spool"}}, // the mbox file
	} {
		e := newEnv(t)
		e.cfg.MailSpoolDirectory = filepath.Join(e.dir, tc.spool)
		if tc.spool == "spool/" {
			e.cfg.MailSpoolDirectory += "/"
		}
		for round := range 2 {
			synced = nil
			if r := e.deliver1("alice@example.test"); r.Kind != deliver.Sent {
				t.Fatalf("spool %s: %v %s", tc.spool, r.Kind, r.Reason)
			}
			var got []string
			for _, name := range synced {
				rel, _ := filepath.Rel(e.dir, filepath.Clean(name))
				got = append(got, rel)
			}
			want := tc.want
			if round == 1 {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Errorf("spool %s, delivery %d: parent fsyncs %q, want %q", tc.spool, round+1, got, want)
			}
		}
	}
}

// A direct attempt that stored its copy but could not make it durable
// is deferred; the queue's attempt, under the same queue ID, finds the
// copy instead of making a second.
func TestDirectCopyFoundByTheQueue(t *testing.T) {
	e := newEnv(t)
	e.cfg.MailSpoolDirectory = e.spool + "/"
	req := queuedRequest(testBody, "alice@example.test")
	req.DirectOnly = true
	old := mailstore.SyncDir
	t.Cleanup(func() { mailstore.SyncDir = old })
	mailstore.SyncDir = func(string, int) error { return errors.New("injected") }
	if r := e.agent().Deliver(context.Background(), req)[0]; r.Kind != deliver.Deferred {
		t.Fatalf("direct attempt with a failing fsync: %v %q", r.Kind, r.Reason)
	}
	mailstore.SyncDir = old
	req.DirectOnly = false
	expect(t, e.agent().Deliver(context.Background(), req)[0], deliver.Sent, "2.0.0", "delivered to maildir")
	if files, _ := os.ReadDir(filepath.Join(e.spool, "alice", "new")); len(files) != 1 {
		t.Errorf("new/ after the queue's attempt: %v", files)
	}
}
