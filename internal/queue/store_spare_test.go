package queue

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// spareNames lists the spare files in tmp/.
func spareNames(t *testing.T, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.dir, tmpDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "spare.") {
			names = append(names, e.Name())
		}
	}
	return names
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// Complete removes a message and keeps its file; the next Enqueue
// overwrites that file, a long old message leaving nothing behind.
func TestCompleteKeepsASpare(t *testing.T) {
	s := openStore(t, t.TempDir())
	old := enqueue(t, s, fullEnvelope(), strings.Repeat("old content\r\n", 2000))
	s.Update(Incoming, old, map[int]RcptStatus{0: {State: Sent, Reason: "x"}})
	oldIno := inode(t, s.path(Incoming, old))
	if err := s.Complete(Incoming, old); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if _, err := s.Read(Incoming, old); !errors.Is(err, ErrNotFound) {
		t.Errorf("Read after Complete: %v", err)
	}
	if err := s.Complete(Incoming, old); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Complete: %v, want ErrNotFound", err)
	}
	if n := spareNames(t, s); len(n) != 1 {
		t.Fatalf("spares %v, want one", n)
	}
	id := enqueue(t, s, fullEnvelope(), "Subject: new\r\n\r\nnew\r\n")
	if inode(t, s.path(Incoming, id)) != oldIno {
		t.Error("the new message got a new file, not the spare")
	}
	if n := spareNames(t, s); len(n) != 0 {
		t.Errorf("spares %v after reuse", n)
	}
	m, err := s.Read(Incoming, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status[0].State != Pending || m.Size != int64(len("Subject: new\r\n\r\nnew\r\n")) {
		t.Errorf("reused file carries old state: %+v", m)
	}
	if got := readContent(t, s, Incoming, id); string(got) != "Subject: new\r\n\r\nnew\r\n" {
		t.Errorf("content %q", got)
	}
	if st, _ := os.Stat(s.path(Incoming, id)); st.Size() > 1000 {
		t.Errorf("file of %d bytes: the old message was not cut off", st.Size())
	}
	// A message of the same size needs no truncate (a failing one would
	// fail Enqueue).
	if err := s.Complete(Incoming, id); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	s.fault = failOn("truncate", tmpDir, errors.New("injected"))
	defer func() { s.fault = nil }()
	next := enqueue(t, s, fullEnvelope(), "Subject: new\r\n\r\nnew\r\n")
	if inode(t, s.path(Incoming, next)) != oldIno {
		t.Error("the same-size message got a new file, not the spare")
	}
}

// Complete does not wait for its removal to reach the disk; a spare
// joins the pool only after the directory fsync that makes the removal
// durable (Flush, which the store runs itself removeDelay after the
// first removal); when that fsync fails, Flush fails and keeps no spare.
func TestCompleteSparesOnlyAfterTheDirectorySync(t *testing.T) {
	s := openStore(t, t.TempDir())
	id := enqueue(t, s, fullEnvelope(), "x")
	pooled, completing := -1, false
	var mu sync.Mutex // the fault runs on the store's timer
	s.fault = func(op, path string) error {
		mu.Lock()
		defer mu.Unlock()
		if op == "syncdir" && filepath.Base(path) == Incoming {
			if completing {
				t.Error("Complete waited for a directory fsync")
			}
			s.spares.mu.Lock()
			pooled = len(s.spares.free)
			s.spares.mu.Unlock()
		}
		return nil
	}
	mu.Lock()
	completing = true
	mu.Unlock()
	if err := s.Complete(Incoming, id); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	completing = false
	mu.Unlock()
	// The store's own flush, within removeDelay: wait for its spare.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		s.spares.mu.Lock()
		n := len(s.spares.free)
		s.spares.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the removal's spare never joined the pool")
		}
	}
	mu.Lock()
	if pooled != 0 {
		t.Errorf("%d spares pooled before the directory fsync", pooled)
	}
	mu.Unlock()
	flush(t, s) // nothing left: the timer has run
	id = enqueue(t, s, fullEnvelope(), "y")
	s.fault = failOn("syncdir", Incoming, syscall.EIO)
	if err := s.Complete(Incoming, id); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if err := s.Flush(); !errors.Is(err, syscall.EIO) {
		t.Errorf("Flush: %v, want EIO", err)
	}
	if n := spareNames(t, s); len(n) != 0 || len(s.spares.free) != 0 {
		t.Errorf("spares %v after a failed directory fsync", n)
	}
	if _, err := s.Read(Incoming, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Read after Complete: %v", err)
	}
}

// flush runs the store's pending removal syncs (Flush) and fails the
// test if they fail.
func flush(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}

// Recovery keeps spares with one name and removes everything else in
// tmp/, including a spare that is also linked into a queue (a crash
// between link and unlink).
func TestRecoveryAdoptsSpares(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	ids := []string{enqueue(t, s, fullEnvelope(), "x"), enqueue(t, s, fullEnvelope(), "x"), enqueue(t, s, fullEnvelope(), "x")}
	for _, id := range ids {
		if err := s.Complete(Incoming, id); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, s)
	spares := spareNames(t, s)
	if len(spares) != 3 {
		t.Fatalf("spares %v", spares)
	}
	// As a crash between link and unlink leaves it: a spare that Enqueue
	// filled is also a message, under the ID it holds.
	linked := enqueue(t, s, fullEnvelope(), "x") // takes a spare
	if err := s.Move(linked, Incoming, Hold); err != nil {
		t.Fatal(err)
	}
	spares = spareNames(t, s)
	crashed := "spare.crash.1"
	if err := os.Link(s.path(Hold, linked), filepath.Join(dir, tmpDir, crashed)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, tmpDir, newID(time.Now(), 4242)), []byte("half"), 0o600)
	s2 := openStore(t, dir)
	if got := spareNames(t, s2); !slices.Equal(got, spares) {
		t.Errorf("spares after recovery %v, want %v without %s", got, spares, crashed)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, tmpDir)); len(entries) != 2 {
		t.Errorf("tmp after recovery: %v", entries)
	}
	for range 3 { // two spares, then a new file
		enqueue(t, s2, fullEnvelope(), "y")
	}
	if got := spareNames(t, s2); len(got) != 0 {
		t.Errorf("spares left: %v", got)
	}
	if got := readContent(t, s2, Hold, linked); string(got) != "x" {
		t.Errorf("the held message's content: %q", got)
	}
}

// Recovery seeds NewID's clock past the newest ID in the queue; IDs from
// NewID after Open are fresh (no look-up in every queue), others are not.
func TestFreshIDs(t *testing.T) {
	dir := t.TempDir()
	ahead := time.Now().Add(500 * time.Millisecond)
	os.MkdirAll(filepath.Join(dir, Deferred), 0o700)
	newest := newID(ahead, os.Getpid())
	os.WriteFile(filepath.Join(dir, Deferred, newest), nil, 0o600)
	s := openStore(t, dir)
	id := NewID()
	if id <= newest {
		t.Errorf("NewID %s after Open, not after the queued %s", id, newest)
	}
	tests := []struct {
		id    string
		fresh bool
	}{
		{id, true},
		{newest, false},                // was in the queue at Open
		{newID(time.Now(), 77), false}, // another process
		{"x", false},
	}
	for _, tt := range tests {
		if got := s.fresh(tt.id); got != tt.fresh {
			t.Errorf("fresh(%q) = %v, want %v", tt.id, got, tt.fresh)
		}
	}
	ro, err := Open(dir, Options{NoRecover: true})
	if err != nil {
		t.Fatal(err)
	}
	if ro.fresh(NewID()) {
		t.Error("a store that did not look at the queue calls an ID fresh")
	}
}

// statfs asks the file system again unless its last answer is recent and
// far from any limit.
func TestStatfsReuse(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	free, err := s.statfs()
	if err != nil {
		t.Fatal(err)
	}
	at := s.statAt
	s.statfs()
	if reused := s.statAt.Equal(at); reused != (free > statfsSlack) {
		t.Errorf("%d bytes free: answer reused %v", free, reused)
	}
	s.statFree = statfsSlack // close to the limit: ask again
	if s.statfs(); s.statAt.Equal(at) {
		t.Error("answer reused with little room left")
	}
}

// A finished message's content is not readable anywhere in the queue
// directory once its file is a spare, nor after a restart adopts spares
// an earlier process left with content (a crash before the scrub, or a
// scrub the crash undid); the file itself is kept, blocks and all.
func TestSparesKeepNoContent(t *testing.T) {
	dir := t.TempDir()
	secret := "Subject: private\r\n\r\n" + strings.Repeat("the delivered letter's text\r\n", 300)
	holds := func() []string { // files under dir holding any of the content
		var found []string
		filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("letter's text")) {
					found = append(found, path)
				}
			}
			return nil
		})
		return found
	}
	s := openStore(t, dir)
	id := enqueue(t, s, fullEnvelope(), secret)
	if len(holds()) != 1 {
		t.Fatal("the queued message's content is not found: the test cannot see it")
	}
	size := func(name string) int64 {
		st, err := os.Stat(filepath.Join(dir, tmpDir, name))
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	if err := s.Complete(Incoming, id); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if found := holds(); len(found) != 0 {
		t.Errorf("delivered content still readable in %v", found)
	}
	if spares := spareNames(t, s); len(spares) != 1 || size(spares[0]) < int64(len(secret)) {
		t.Errorf("spares %v: want one, its blocks kept", spares)
	}

	// A spare left with its content, as by an earlier process that died
	// before scrubbing it.
	s.scrub = func(string, int64) error { return nil }
	enqueue(t, s, fullEnvelope(), "taking the scrubbed spare")
	id = enqueue(t, s, fullEnvelope(), secret)
	if err := s.Complete(Incoming, id); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	if len(holds()) != 1 {
		t.Fatal("the unscrubbed spare does not hold the content: the test cannot see it")
	}
	openStore(t, dir)
	if found := holds(); len(found) != 0 {
		t.Errorf("after a restart, delivered content still readable in %v", found)
	}
}
