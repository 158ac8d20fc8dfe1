package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// removeDelay is how long a removal by Complete may wait for the
// directory fsync that makes it durable: removals within it share one.
const removeDelay = 10 * time.Millisecond

// retiring holds what Complete removed and nobody waits for: the queue
// directories whose removals are not known to be on disk yet, and the
// spare files those removals left in tmp/, which join the pool only once
// they are (a file reused before its old name is durably gone could come
// back after a crash under that name, holding another message). A timer
// syncs them removeDelay after the first; Flush does it at once.
type retiring struct {
	mu     sync.Mutex
	dirs   map[string]bool
	spares []spare
	timer  *time.Timer // armed while anything waits

	flushing sync.Mutex // one flush at a time, in order
	warned   time.Time  // the last warning of a failed sync (guarded by mu)
}

// warnEvery bounds the warnings of failing background syncs (a disk
// that keeps answering EIO).
const warnEvery = 10 * time.Second

// add records a removal from queue dir, and the spare it left (path ""
// when the file was unlinked), and arms the timer.
func (r *retiring) add(s *Store, dir string, sp spare) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dirs == nil {
		r.dirs = map[string]bool{}
	}
	r.dirs[dir] = true
	if sp.path != "" {
		r.spares = append(r.spares, sp)
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(removeDelay, func() {
			if err := s.Flush(); err != nil && r.warn(s.now()) {
				s.log.Warn(fmt.Sprintf("removals not synced, their files not reused: %v", err))
			}
		})
	}
}

// warn reports whether a failed sync at now is to be logged: at most
// one warning every warnEvery.
func (r *retiring) warn(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.warned.IsZero() && now.Sub(r.warned) < warnEvery {
		return false
	}
	r.warned = now
	return true
}

// Flush makes every removal Complete has made durable (one fsync per
// directory) and puts the spare files they left into the pool, scrubbed.
// If a directory fsync fails, those spares are deleted instead (which
// message they held no longer matters: each was delivered), the
// directory stays marked for the next flush, and the error is returned. The store calls it itself, removeDelay after a
// removal; tests call it to see the pool at once.
func (s *Store) Flush() error {
	r := &s.retiring
	r.flushing.Lock()
	defer r.flushing.Unlock()
	r.mu.Lock()
	dirs, spares := r.dirs, r.spares
	r.dirs, r.spares = nil, nil
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.mu.Unlock()
	var err error
	var failed []string
	for dir := range dirs {
		if e := s.fsyncDir(filepath.Join(s.dir, dir)); e != nil {
			failed = append(failed, dir)
			if err == nil {
				err = fmt.Errorf("queue: %w", e)
			}
		}
	}
	if len(failed) > 0 { // tried again by the next flush
		r.mu.Lock()
		if r.dirs == nil {
			r.dirs = map[string]bool{}
		}
		for _, dir := range failed {
			r.dirs[dir] = true
		}
		r.mu.Unlock()
	}
	for _, sp := range spares {
		// Only now: scrubbed before the directory fsync, the file could
		// come back under its old name, empty, after a crash.
		if err != nil || s.scrub(sp.path, sp.size) != nil {
			os.Remove(sp.path)
			s.spares.drop(sp.size)
			continue
		}
		s.spares.put(sp.path, sp.size)
	}
	return err
}
