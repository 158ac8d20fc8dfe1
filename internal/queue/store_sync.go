package queue

import (
	"fmt"
	"os"
	"sync"
)

// groupSync shares one fsync among concurrent callers (group commit). An
// fsync of a directory makes durable every link, rename and unlink done
// in it before the fsync started; so callers that finish their renames
// while an fsync is running join the next batch, and that batch's one
// fsync answers them all.
type groupSync struct {
	sync func() error
	solo bool // every Wait runs its own sync: the baseline for benchmarks

	mu   sync.Mutex
	open *syncBatch // callers waiting for an fsync that has not started
	busy bool       // an fsync is running
}

type syncBatch struct {
	done chan struct{}
	err  error
}

// Wait returns once an fsync that started after the call has finished,
// with its error: a failed fsync fails every caller of its batch.
func (g *groupSync) Wait() error {
	if g.solo {
		return g.sync()
	}
	g.mu.Lock()
	if g.open == nil {
		g.open = &syncBatch{done: make(chan struct{})}
	}
	b := g.open
	lead := !g.busy
	if lead {
		g.busy, g.open = true, nil
	}
	g.mu.Unlock()
	if lead {
		g.run(b)
	}
	<-b.done
	return b.err
}

// run syncs batch b and hands the next batch, if callers joined one
// meanwhile, to a new goroutine, so that a leader waits for its own
// fsync only.
func (g *groupSync) run(b *syncBatch) {
	b.err = g.sync()
	close(b.done)
	g.mu.Lock()
	next := g.open
	g.open = nil
	g.busy = next != nil
	g.mu.Unlock()
	if next != nil {
		go g.run(next)
	}
}

// fault is the failure seam (like chasquid's safeio): when set, it runs
// before every file system step that matters for durability, with the
// step's name ("create", "write", "sync", "link", "rename", "remove",
// "truncate", "syncdir") and path, and a non-nil result makes the step
// fail with that error instead of running.
type fault func(op, path string) error

func (s *Store) check(op, path string) error {
	if s.fault == nil {
		return nil
	}
	return s.fault(op, path)
}

// faultWriter passes writes to a file through the failure seam.
type faultWriter struct {
	s *Store
	f *os.File
}

func (w faultWriter) Write(p []byte) (int, error) {
	if err := w.s.check("write", w.f.Name()); err != nil {
		return 0, err
	}
	return w.f.Write(p)
}

func (w faultWriter) WriteAt(p []byte, off int64) (int, error) {
	if err := w.s.check("write", w.f.Name()); err != nil {
		return 0, err
	}
	return w.f.WriteAt(p, off)
}

// fsyncFile makes a file's data and size durable.
func (s *Store) fsyncFile(f *os.File) error {
	if err := s.check("sync", f.Name()); err != nil {
		return fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	if err := s.syncFile(f); err != nil {
		return fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	return nil
}

// fsyncDir syncs one directory, for groupSync.
func (s *Store) fsyncDir(dir string) error {
	if err := s.check("syncdir", dir); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	d, err := openNoPoll(dir, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

func (s *Store) link(oldPath, newPath string) error {
	if err := s.check("link", newPath); err != nil {
		return &os.LinkError{Op: "link", Old: oldPath, New: newPath, Err: err}
	}
	return os.Link(oldPath, newPath)
}

func (s *Store) rename(oldPath, newPath string) error {
	if err := s.check("rename", newPath); err != nil {
		return &os.LinkError{Op: "rename", Old: oldPath, New: newPath, Err: err}
	}
	return os.Rename(oldPath, newPath)
}

func (s *Store) remove(path string) error {
	if err := s.check("remove", path); err != nil {
		return &os.PathError{Op: "remove", Path: path, Err: err}
	}
	return os.Remove(path)
}
