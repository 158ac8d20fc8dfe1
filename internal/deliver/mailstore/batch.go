package mailstore

import (
	"fmt"
	"syscall"
)

// Batch holds the directory fsyncs the Maildir copies of one request
// left for later: the agent runs them (Finish) once every copy is in
// place and it has released the destination's delivery slot, so that
// the next delivery need not wait for them, and deliveries into the same
// new/ meanwhile share one (Store's fsyncgroup). A Batch is used by one
// goroutine at a time.
type Batch struct {
	syncs  []pendingSync
	synced int // how many of them ran
}

// pendingSync is a directory fsync a recipient's delivery waits for.
type pendingSync struct {
	rcpt int
	sync func() error
	err  error // once run
}

// SyncError is a recipient whose copy is in place but not durable: the
// fsync of its new/ failed. Deferred, the next attempt finds the copy if
// it survives (it has the same name) and makes no second.
type SyncError struct {
	Rcpt int
	Err  error
}

// Pending reports whether fsyncs wait in the batch.
func (b *Batch) Pending() bool { return len(b.syncs) > 0 }

// Finish runs the fsyncs that have not run yet and returns those that
// failed.
func (b *Batch) Finish() []SyncError {
	b.run()
	var failed []SyncError
	for _, p := range b.syncs {
		if p.err != nil {
			failed = append(failed, SyncError{p.rcpt, p.err})
		}
	}
	return failed
}

func (b *Batch) run() {
	for ; b.synced < len(b.syncs); b.synced++ {
		b.syncs[b.synced].err = b.syncs[b.synced].sync()
	}
}

// dirKey names a directory by device and inode, for Store.dirSyncs.
type dirKey struct{ dev, ino uint64 }

// syncLater keeps the open directory dir (new/) for the fsync that
// makes the copy's link durable, in c.Batch, or runs it now without
// one. It closes dir.
func (s *Store) syncLater(c *Copy, dir dirFD) error {
	var key dirKey
	var st syscall.Stat_t
	if _, err := retryEINTR(func() (int, error) { return 0, syscall.Fstat(dir.fd, &st) }); err == nil {
		key = dirKey{uint64(st.Dev), uint64(st.Ino)}
	}
	if key == (dirKey{}) { // no identity: a group of its own
		key.ino = s.syncSeq.Add(1)
	}
	sync := func() error {
		defer dir.close()
		if err := s.dirSyncs.Do(key, func() error { return SyncDir(dir.name, dir.fd) }); err != nil {
			return fmt.Errorf("fsync directory %s: %s", dir.name, Strerror(err))
		}
		return nil
	}
	b := c.Batch
	if b == nil {
		if err := sync(); err != nil {
			return Fail("4.3.0", err.Error())
		}
		return nil
	}
	b.syncs = append(b.syncs, pendingSync{rcpt: c.Rcpt, sync: sync})
	// Each pending fsync holds new/ open: an alias of thousands of
	// users must not run out of file descriptors.
	if len(b.syncs)-b.synced >= MaxPending {
		b.run()
	}
	return nil
}
