package queue

import (
	"fmt"
	"os"
	"syscall"

	"github.com/postern-mta/postern/internal/fsyncgroup"
)

// groupSync is one queue directory's fsync, shared among concurrent
// callers (fsyncgroup: group commit).
type groupSync struct {
	sync  func() error
	solo  bool // every Wait runs its own sync: the baseline for benchmarks
	group fsyncgroup.Group
}

// Wait returns once an fsync that started after the call has finished,
// with its error.
func (g *groupSync) Wait() error {
	if g.solo {
		return g.sync()
	}
	return g.group.Do(g.sync)
}

// expect announces a caller that will Wait soon (fsyncgroup's Expect):
// a leader syncing the directory meanwhile waits for it, and only for
// such callers, so that a lone caller is never kept waiting for company.
func (g *groupSync) expect() expected {
	if g.solo {
		return expected{g: g}
	}
	return expected{g: g, e: g.group.Expect()}
}

// expected is an announced Wait: call wait or cancel, once.
type expected struct {
	g *groupSync
	e fsyncgroup.Expected
}

func (x expected) wait() error {
	if x.g.solo {
		return x.g.sync()
	}
	return x.e.Do(x.g.sync)
}

// alone reports whether the caller has the directory's group to itself
// (fsyncgroup's Alone); never in solo mode.
func (x expected) alone() bool {
	return !x.g.solo && x.e.Alone()
}

func (x expected) cancel() {
	if x.g != nil && !x.g.solo {
		x.e.Cancel()
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
	// rename(2) itself: os.Rename first looks whether newPath is a
	// directory, which no queue path is (one stat of a long path per
	// rename, two per message).
	if err := syscall.Rename(oldPath, newPath); err != nil {
		return &os.LinkError{Op: "rename", Old: oldPath, New: newPath, Err: err}
	}
	return nil
}

func (s *Store) remove(path string) error {
	if err := s.check("remove", path); err != nil {
		return &os.PathError{Op: "remove", Path: path, Err: err}
	}
	return os.Remove(path)
}
