package queue

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A power loss after Complete returned, before the directory fsync that
// makes its removal durable, may undo the removal: the message must then
// come back whole (to be delivered again: a duplicate, never a loss nor a
// damaged file). So until that fsync the file is neither scrubbed nor
// given to another message. The disk after the power loss is simulated:
// a copy of the queue taken when the store's own flush reaches the
// directory fsync, with the removal's rename undone.
func TestCompletePowerLossBeforeSync(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	body := "Subject: once\r\n\r\n" + strings.Repeat("the letter's text\r\n", 500)
	id := enqueue(t, s, fullEnvelope(), body)
	if err := s.Activate(id, Incoming); err != nil {
		t.Fatal(err)
	}
	ino := inode(t, s.path(Active, id))
	crashed := t.TempDir()
	reached, proceed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.fault = func(op, path string) error {
		if op == "syncdir" && filepath.Base(path) == Active {
			once.Do(func() {
				if err := copyQueueUndoing(dir, crashed, ino, filepath.Join(Active, id)); err != nil {
					t.Error(err)
				}
				close(reached)
				<-proceed
			})
		}
		return nil
	}
	if err := s.Complete(Active, id); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached:
	case <-time.After(time.Minute):
		t.Fatal("the store never synced the removal")
	}
	// While the fsync runs, another message does not get the file.
	other := enqueue(t, s, fullEnvelope(), "another message")
	if inode(t, s.path(Incoming, other)) == ino {
		t.Error("the completed message's file was reused before its removal was durable")
	}
	close(proceed)

	s2 := openStore(t, crashed) // recovery after the power loss
	m, err := s2.Read(Incoming, id)
	if err != nil {
		t.Fatalf("the message did not come back whole: %v", err)
	}
	if got := string(readContent(t, s2, Incoming, id)); got != body || m.Size != int64(len(body)) {
		t.Errorf("content back after the power loss: %d bytes, want the %d enqueued", len(got), len(body))
	}
}

// copyQueueUndoing copies the queue under from to to, putting the file
// with inode ino (renamed to a spare) back at the path undo; with ino 0,
// every file where it is.
func copyQueueUndoing(from, to string, ino uint64, undo string) error {
	return filepath.WalkDir(from, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if e.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Sys().(*syscall.Stat_t).Ino == ino {
			dst = filepath.Join(to, undo)
			if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
				return err
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
}

// Recovery syncs the queue directories before it adopts spares: a
// removal renamed to tmp/spare.* just before a crash is then durable
// before the spare can hold another message (review 19, L1).
func TestRecoverSyncsQueueDirectories(t *testing.T) {
	s := openStore(t, t.TempDir())
	var synced []string
	s.fault = func(op, path string) error {
		if op == "syncdir" {
			synced = append(synced, filepath.Base(path))
		}
		return nil
	}
	if err := s.recover(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{Active, Incoming, Deferred, Hold} {
		if !slices.Contains(synced, q) {
			t.Errorf("recovery did not sync %s/ (synced %v)", q, synced)
		}
	}
}

// A failed background sync leaves its directory marked: the next flush
// syncs it again instead of forgetting the removals (review 19, L2).
func TestFlushRetriesFailedSync(t *testing.T) {
	s := openStore(t, t.TempDir())
	id := enqueue(t, s, fullEnvelope(), "Subject: x\r\n\r\nx\r\n")
	if err := s.Activate(id, Incoming); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	failing, synced := true, 0
	s.fault = func(op, path string) error {
		if op != "syncdir" || filepath.Base(path) != Active {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return syscall.EIO
		}
		synced++
		return nil
	}
	if err := s.Complete(Active, id); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err == nil {
		t.Fatal("Flush with active/'s fsync failing: no error")
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if synced == 0 {
		t.Error("the flush after a failed one did not sync active/ again")
	}
}
