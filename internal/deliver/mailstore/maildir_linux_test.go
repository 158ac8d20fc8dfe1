package mailstore

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/queue"
)

// maildirEnv is a Maildir "alice" below a root, and a Store.
type maildirEnv struct {
	root *os.Root
	md   string // the Maildir's path
	s    *Store
}

func newMaildirEnv(t *testing.T) *maildirEnv {
	t.Helper()
	dir := sharedDir(t)
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return &maildirEnv{root: r, md: filepath.Join(dir, "alice"), s: &Store{Hostname: "host.test"}}
}

// deliver stores content for recipient rcpt of queueID and runs the
// Batch.
func (e *maildirEnv) deliver(t *testing.T, queueID string, rcpt int, content string) error {
	t.Helper()
	var b Batch
	c := &Copy{
		QueueID: queueID,
		Rcpt:    rcpt,
		Write:   func(w io.Writer) error { _, err := io.WriteString(w, content); return err },
		DSN:     "5.2.0",
		Batch:   &b,
	}
	if err := e.s.Maildir(e.root, "alice/", Owner{aliceUID, aliceGID}, c); err != nil {
		return err
	}
	if failed := b.Finish(); len(failed) > 0 {
		t.Fatalf("fsyncs failed: %v", failed)
	}
	return nil
}

func (e *maildirEnv) names(t *testing.T, sub string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.md, sub))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ent := range ents {
		names = append(names, ent.Name())
	}
	return names
}

// A copy written unnamed in new/ or through tmp/ is the same file: the
// content, mode 0600, the owner's; tmp/ is left empty. Unnamed, tmp/ is
// not even written (its modification time stays).
func TestMaildirCopyBothWays(t *testing.T) {
	for _, unnamed := range []bool{true, false} {
		t.Run(map[bool]string{true: "unnamed", false: "tmp"}[unnamed], func(t *testing.T) {
			old := UnnamedCopies
			t.Cleanup(func() { UnnamedCopies = old })
			UnnamedCopies = unnamed
			e := newMaildirEnv(t)
			id := queue.NewID()
			if err := e.deliver(t, id, 0, "first\n"); err != nil { // makes the Maildir
				t.Fatal(err)
			}
			past := time.Now().Add(-time.Hour)
			if err := os.Chtimes(filepath.Join(e.md, "tmp"), past, past); err != nil {
				t.Fatal(err)
			}
			if err := e.deliver(t, id, 1, "second\n"); err != nil {
				t.Fatal(err)
			}
			name := MaildirName(id, 1, "host.test")
			got, err := os.ReadFile(filepath.Join(e.md, "new", name))
			if err != nil || string(got) != "second\n" {
				t.Fatalf("new/%s: %q %v", name, got, err)
			}
			if uid, gid, mode := ownerOf(t, filepath.Join(e.md, "new", name)); mode != 0o600 || isRoot() && (uid != aliceUID || gid != aliceGID) {
				t.Errorf("new/%s: mode %v, owner %d:%d", name, mode, uid, gid)
			}
			if tmp := e.names(t, "tmp"); len(tmp) != 0 {
				t.Errorf("tmp/ holds %v", tmp)
			}
			st, err := os.Stat(filepath.Join(e.md, "tmp"))
			if err != nil {
				t.Fatal(err)
			}
			if untouched := st.ModTime().Equal(past); untouched != unnamed {
				t.Errorf("tmp/ modified %v (untouched %v), written unnamed %v", st.ModTime(), untouched, unnamed)
			}
		})
	}
}

// Written unnamed, a copy whose name is taken finds the earlier
// attempt's copy (the same size: delivered, no second) or, another size,
// gets a unique name of its own.
func TestMaildirUnnamedNameTaken(t *testing.T) {
	old := UnnamedCopies
	t.Cleanup(func() { UnnamedCopies = old })
	UnnamedCopies = true
	e := newMaildirEnv(t)
	id := queue.NewID()
	if err := e.deliver(t, id, 0, "copy\n"); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	e.s.Logger = slog.New(slog.NewTextHandler(&log, nil))
	if err := e.deliver(t, id, 0, "copy\n"); err != nil { // the retry
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "already holds this message") {
		t.Errorf("log: %s", log.String())
	}
	if n := e.names(t, "new"); len(n) != 1 {
		t.Fatalf("new/ holds %v after the retry", n)
	}
	if err := e.deliver(t, id, 0, "another message\n"); err != nil { // an ID reused
		t.Fatal(err)
	}
	n := e.names(t, "new")
	if len(n) != 2 {
		t.Fatalf("new/ holds %v", n)
	}
	for _, name := range n {
		got, _ := os.ReadFile(filepath.Join(e.md, "new", name))
		want := "copy\n"
		if name != MaildirName(id, 0, "host.test") {
			want = "another message\n"
		}
		if string(got) != want {
			t.Errorf("new/%s: %q, want %q", name, got, want)
		}
	}
}

// Over the size limit, an unnamed copy fails as through tmp/ (5.2.2,
// EFBIG) and leaves nothing behind.
func TestMaildirUnnamedOverLimit(t *testing.T) {
	e := newMaildirEnv(t)
	var b Batch
	c := &Copy{
		QueueID: queue.NewID(),
		Write:   func(w io.Writer) error { _, err := io.WriteString(w, strings.Repeat("x", 100)); return err },
		Limit:   10,
		DSN:     "5.2.0",
		Batch:   &b,
	}
	err := e.s.Maildir(e.root, "alice/", NoChown, c)
	if se, ok := err.(*StepError); !ok || se.DSN != "5.2.2" {
		t.Fatalf("err %v", err)
	}
	if n := e.names(t, "new"); len(n) != 0 {
		t.Errorf("new/ holds %v", n)
	}
	if n := e.names(t, "tmp"); len(n) != 0 {
		t.Errorf("tmp/ holds %v", n)
	}
}

// With a user's file system rights (virtual delivery, the root agent's
// WithFSCreds), an unnamed copy gets its name, with linkat(AT_EMPTY_PATH)
// or, as where a kernel refuses that to such a thread (before 6.10),
// through /proc/self/fd; it belongs to the user.
func TestMaildirUnnamedWithUserRights(t *testing.T) {
	if !isRoot() {
		t.Skip("needs root to take another user's rights")
	}
	for _, emptyPath := range []bool{true, false} {
		t.Run(fmt.Sprint("AT_EMPTY_PATH=", emptyPath), func(t *testing.T) {
			old, oldEmpty := UnnamedCopies, linkEmptyPath
			t.Cleanup(func() { UnnamedCopies, linkEmptyPath = old, oldEmpty })
			UnnamedCopies, linkEmptyPath = true, emptyPath
			unnamedWithUserRights(t)
		})
	}
}

func unnamedWithUserRights(t *testing.T) {
	e := newMaildirEnv(t)
	base := filepath.Dir(e.md)
	if err := os.Chown(base, aliceUID, aliceGID); err != nil {
		t.Fatal(err)
	}
	id := queue.NewID()
	err := WithFSCreds(aliceUID, aliceGID, func() error {
		var b Batch
		c := &Copy{QueueID: id, Write: func(w io.Writer) error { _, err := io.WriteString(w, "hi\n"); return err }, DSN: "4.2.0", Batch: &b}
		if err := e.s.Maildir(e.root, "alice/", NoChown, c); err != nil {
			return err
		}
		if failed := b.Finish(); len(failed) > 0 {
			return failed[0].Err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(e.md, "new", MaildirName(id, 0, "host.test"))
	if uid, gid, mode := ownerOf(t, name); uid != aliceUID || gid != aliceGID || mode != 0o600 {
		t.Errorf("%s: owner %d:%d mode %v", name, uid, gid, mode)
	}
}
