package mailstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The fast way into a Maildir takes only real directories, all there:
// anything else (a symbolic link on the way, a missing tmp/ or new/, a
// path leaving the root) goes the checking way, which creates what is
// missing or refuses.
func TestOpenMaildirFast(t *testing.T) {
	base := t.TempDir()
	mk := func(dirs ...string) {
		for _, d := range dirs {
			if err := os.MkdirAll(filepath.Join(base, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("u/Maildir/tmp", "u/Maildir/new", "u/Maildir/cur", "v/Maildir/new", "other/Maildir/tmp", "other/Maildir/new", "w/file")
	os.Symlink(filepath.Join(base, "other"), filepath.Join(base, "link"))
	os.Symlink(filepath.Join(base, "other/Maildir/new"), filepath.Join(base, "u/x"))
	mk("s/Maildir/tmp")
	os.Symlink(filepath.Join(base, "other/Maildir/new"), filepath.Join(base, "s/Maildir/new"))
	os.WriteFile(filepath.Join(base, "f"), nil, 0o600)
	bfd, err := syscall.Open(base, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(bfd)
	before := openFDs(t)
	for _, tc := range []struct {
		dir string
		ok  bool
	}{
		{"u/Maildir", true},
		{"other/Maildir", true},
		{"v/Maildir", false},    // no tmp/
		{"link/Maildir", false}, // a symbolic link on the way
		{"s/Maildir", false},    // new/ is a symbolic link
		{"f", false},            // not a directory
		{"../u/Maildir", false},
		{"u//Maildir", false},
		{"nobody/Maildir", false},
	} {
		tmp, nw, err := openMaildirAt(bfd, base, tc.dir)
		if ok := err == nil; ok != tc.ok {
			t.Errorf("%s: ok %v, want %v (%v)", tc.dir, ok, tc.ok, err)
		}
		if err == nil {
			if want := filepath.Join(base, tc.dir, "new"); nw.name != want {
				t.Errorf("%s: new/ named %q, want %q", tc.dir, nw.name, want)
			}
			for _, d := range []dirFD{tmp, nw} {
				var st syscall.Stat_t
				if err := syscall.Fstat(d.fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
					t.Errorf("%s: %s not an open directory: %v", tc.dir, d.name, err)
				}
				d.close()
			}
		}
	}
	if n := openFDs(t); n != before {
		t.Errorf("%d descriptors open after the cases, %d before", n, before)
	}
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(fds)
}

// A copy whose queue-ID name holds another file gets a unique name; if
// that is taken too, no copy was made and the delivery is tried again
// later, never counted done (review 19b L7).
func TestMaildirUniqueNameTaken(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"u/tmp", "u/new", "u/cur"} {
		os.MkdirAll(filepath.Join(base, d), 0o700)
	}
	r, err := os.OpenRoot(base)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	now := time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)
	s := &Store{Hostname: "host.test", Now: func() time.Time { return now }}
	const qid = "4dHGj76b0BzVxm1"
	byID := MaildirName(qid, 0, s.Hostname)
	if byID == "" {
		t.Fatal("no name for the queue ID")
	}
	os.WriteFile(filepath.Join(base, "u/new", byID), []byte("another message, of another size\n"), 0o600)
	next := fmt.Sprintf("%d.M%dP%dQ%d.%s", now.Unix(), 0, os.Getpid(), maildirCount.Load()+1, s.Hostname)
	os.WriteFile(filepath.Join(base, "u/new", next), []byte("x"), 0o600)
	var b Batch
	c := &Copy{QueueID: qid, Write: func(w io.Writer) error { _, err := io.WriteString(w, "the copy\n"); return err }, DSN: "5.2.0", Batch: &b}
	err = s.Maildir(r, "u/", Owner{-1, -1}, c)
	b.Finish()
	var se *StepError
	if !errors.As(err, &se) || !strings.HasPrefix(se.DSN, "4.") {
		t.Fatalf("both names taken: %v, want a temporary failure", err)
	}
	ents, _ := os.ReadDir(filepath.Join(base, "u/new"))
	tmps, _ := os.ReadDir(filepath.Join(base, "u/tmp"))
	if len(ents) != 2 || len(tmps) != 0 {
		t.Errorf("new/ has %d files, tmp/ %d: want the 2 others, and nothing left", len(ents), len(tmps))
	}
}

// MaildirAt delivers into a Maildir that is there as plain directories,
// from the base's path, and leaves anything else to Maildir's checking
// way untouched: a missing Maildir is not made, a symbolic link not
// followed, a missing base not reported.
func TestMaildirAt(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"u/Maildir/tmp", "u/Maildir/new", "u/Maildir/cur", "other/Maildir/tmp", "other/Maildir/new"} {
		os.MkdirAll(filepath.Join(base, d), 0o700)
	}
	os.Symlink(filepath.Join(base, "other"), filepath.Join(base, "link"))
	s := &Store{Hostname: "host.test"}
	owner := Owner{-1, -1}
	if isRoot() {
		owner = Owner{aliceUID, aliceGID}
	}
	before := openFDs(t)
	for _, tc := range []struct {
		base, dir string
		done      bool
	}{
		{base, "u/Maildir/", true},
		{base + "/", "u/Maildir", true},
		{base, "v/Maildir/", false},    // not there: not made here
		{base, "link/Maildir/", false}, // a link on the way
		{base + "/none", "u/Maildir/", false},
	} {
		var b Batch
		c := &Copy{QueueID: "4dHGj76b0BzVxm1", Write: func(w io.Writer) error { _, err := io.WriteString(w, "the copy\n"); return err }, DSN: "5.2.0", Batch: &b}
		done, err := s.MaildirAt(tc.base, tc.dir, owner, c)
		if failed := b.Finish(); done != tc.done || err != nil || len(failed) != 0 {
			t.Errorf("%s %s: done %v (%v, %v), want %v", tc.base, tc.dir, done, err, failed, tc.done)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(base, "u/Maildir/new"))
	if len(ents) != 1 {
		t.Fatalf("u/Maildir/new holds %d copies, want 1 (the same name twice)", len(ents))
	}
	if uid, gid, mode := ownerOf(t, filepath.Join(base, "u/Maildir/new", ents[0].Name())); isRoot() && (uid != aliceUID || gid != aliceGID || mode.Perm() != 0o600) {
		t.Errorf("the copy is %d:%d %v, want %d:%d -rw-------", uid, gid, mode, aliceUID, aliceGID)
	}
	if _, err := os.Lstat(filepath.Join(base, "v")); err == nil {
		t.Error("v/Maildir made")
	}
	if ents, _ := os.ReadDir(filepath.Join(base, "other/Maildir/new")); len(ents) != 0 {
		t.Errorf("a copy went through the link: %v", ents)
	}
	if n := openFDs(t); n != before {
		t.Errorf("%d descriptors open after the cases, %d before", n, before)
	}
}

// Every way a copy can fail or end leaves no descriptor open: a bare
// descriptor has no finalizer to close it later.
func TestMaildirAtClosesAll(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"u/tmp", "u/new", "u/cur"} {
		os.MkdirAll(filepath.Join(base, d), 0o700)
	}
	s := &Store{Hostname: "host.test"}
	const qid = "4dHGj76b0BzVxm1"
	name := MaildirName(qid, 0, s.Hostname)
	write := func(w io.Writer) error { _, err := io.WriteString(w, "the copy\n"); return err }
	oldSync, oldMax := SyncDir, MaxPending
	t.Cleanup(func() { SyncDir, MaxPending = oldSync, oldMax })
	clean := func() {
		for _, d := range []string{"u/tmp", "u/new"} {
			os.RemoveAll(filepath.Join(base, d))
			os.MkdirAll(filepath.Join(base, d), 0o700)
		}
		SyncDir, MaxPending = oldSync, oldMax
	}
	for _, tc := range []struct {
		name    string
		setup   func()
		limit   int64
		batch   bool
		wantErr bool
	}{
		{name: "over the size limit", limit: 3, wantErr: true},
		{name: "tmp name a directory", setup: func() { os.Mkdir(filepath.Join(base, "u/tmp", name), 0o700) }, wantErr: true},
		{name: "another file under the name", setup: func() { os.WriteFile(filepath.Join(base, "u/new", name), []byte("other, longer\n"), 0o600) }},
		{name: "new/ fsync fails, no batch", setup: func() { SyncDir = func(string, int) error { return syscall.EIO } }, wantErr: true},
		{name: "new/ fsync fails, batch", setup: func() { SyncDir = func(string, int) error { return syscall.EIO } }, batch: true},
		{name: "batch over MaxPending", setup: func() { MaxPending = 1 }, batch: true},
	} {
		clean()
		if tc.setup != nil {
			tc.setup()
		}
		before := openFDs(t)
		c := &Copy{QueueID: qid, Write: write, Limit: tc.limit, DSN: "5.2.0"}
		var b Batch
		if tc.batch {
			c.Batch = &b
		}
		done, err := s.MaildirAt(base, "u/", Owner{-1, -1}, c)
		b.Finish()
		if !done || (err != nil) != tc.wantErr {
			t.Errorf("%s: done %v, error %v", tc.name, done, err)
		}
		if n := openFDs(t); n != before {
			t.Errorf("%s: %d descriptors open after, %d before", tc.name, n, before)
		}
	}
}
