package queue

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// compactAfter is how large the appended state may grow before Update
// considers rewriting the file with a single snapshot.
const compactAfter = 64 << 10

func checkName(queue, id string) error {
	if !slices.Contains(queueDirs, queue) {
		return fmt.Errorf("queue: unknown queue %q", queue)
	}
	if !ValidID(id) {
		return fmt.Errorf("queue: invalid queue ID %q", id)
	}
	return nil
}

// List returns the IDs of the messages in a queue directory, sorted
// (which is by arrival time). Names that are not queue IDs are skipped.
func (s *Store) List(queue string) ([]string, error) {
	if !slices.Contains(queueDirs, queue) {
		return nil, fmt.Errorf("queue: unknown queue %q", queue)
	}
	entries, err := os.ReadDir(filepath.Join(s.dir, queue))
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.Type().IsRegular() && ValidID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// openFile opens and parses a queue file; flag is os.O_RDONLY or os.O_RDWR.
func (s *Store) openFile(queue, id string, flag int) (*os.File, *queueFile, error) {
	f, size, err := s.open(queue, id, flag)
	if err != nil {
		return nil, nil, err
	}
	qf, err := parseQueueFile(f, size, id)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("queue: %s/%s: %w", queue, id, err)
	}
	return f, qf, nil
}

// open opens a queue file and returns its size.
func (s *Store) open(queue, id string, flag int) (*os.File, int64, error) {
	if err := checkName(queue, id); err != nil {
		return nil, 0, err
	}
	f, err := openNoPoll(s.path(queue, id), flag, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("queue: %w: %s/%s", ErrNotFound, queue, id)
	} else if err != nil {
		return nil, 0, fmt.Errorf("queue: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("queue: %w", err)
	}
	return f, st.Size(), nil
}

// Read returns a message's envelope and state, without its content. A
// damaged file gives an error wrapping ErrCorrupt.
func (s *Store) Read(queue, id string) (*Message, error) {
	f, qf, err := s.openFile(queue, id, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	f.Close()
	return qf.message(queue, id), nil
}

func (qf *queueFile) message(queue, id string) *Message {
	return &Message{ID: id, Queue: queue, Envelope: qf.env, Status: qf.status,
		Size: qf.size, NextAttempt: qf.next, DelayWarned: qf.warned}
}

// Version identifies the state of a queue file: it changes when the file
// is written (state appended by any process, a reused file), so that a
// reader may keep what it read from a file until its Version changes.
type Version struct {
	ModTime int64 // nanoseconds
	Size    int64
}

// Version returns the Version of a message's file, with one stat.
func (s *Store) Version(queue, id string) (Version, error) {
	if err := checkName(queue, id); err != nil {
		return Version{}, err
	}
	st, err := os.Lstat(s.path(queue, id))
	if errors.Is(err, fs.ErrNotExist) {
		return Version{}, fmt.Errorf("queue: %w: %s/%s", ErrNotFound, queue, id)
	} else if err != nil {
		return Version{}, fmt.Errorf("queue: %w", err)
	}
	return Version{st.ModTime().UnixNano(), st.Size()}, nil
}

// ReadWithContent is Read plus, when the file holds at most max bytes,
// the content: a small message is read with one open and one read, and
// the queue manager hands it to every delivery of its round from memory
// instead of opening the file again in each. A larger message's content
// is nil: Content opens it.
func (s *Store) ReadWithContent(queue, id string, max int64) (*Message, []byte, error) {
	f, size, err := s.open(queue, id, os.O_RDONLY)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var r io.ReaderAt = f
	if size <= max {
		buf := make([]byte, size)
		if _, err := f.ReadAt(buf, 0); err != nil {
			return nil, nil, fmt.Errorf("queue: %s/%s: %w", queue, id, err)
		}
		r = bytes.NewReader(buf)
	}
	qf, err := parseQueueFile(r, size, id)
	if err != nil {
		return nil, nil, fmt.Errorf("queue: %s/%s: %w", queue, id, err)
	}
	if size > max {
		return qf.message(queue, id), nil, nil
	}
	content, err := io.ReadAll(newContentReader(r, qf))
	if err != nil {
		return nil, nil, fmt.Errorf("queue: %s/%s: %w", queue, id, err)
	}
	return qf.message(queue, id), content, nil
}

type content struct {
	*contentReader
	f *os.File
}

func (c content) Close() error { return c.f.Close() }

// Content opens a message's content, exactly as enqueued. The reader
// checks every chunk and ends in an error wrapping ErrCorrupt, not in
// io.EOF, when the content is damaged. It keeps working after the message
// is moved or removed.
func (s *Store) Content(queue, id string) (io.ReadCloser, error) {
	f, qf, err := s.openFile(queue, id, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	return content{newContentReader(f, qf), f}, nil
}

// Update durably records new states for some recipients, by index into
// Envelope.Recipients. A zero At is set to now.
func (s *Store) Update(queue, id string, status map[int]RcptStatus) error {
	if len(status) == 0 {
		return nil
	}
	return s.appendState(queue, id, func(qf *queueFile) ([]byte, error) {
		st := make(map[int]RcptStatus, len(status))
		for i, r := range status {
			if i < 0 || i >= len(qf.status) {
				return nil, fmt.Errorf("queue: %s: no recipient %d", id, i)
			}
			if r.State > Bounced {
				return nil, fmt.Errorf("queue: %s: bad recipient state %d", id, r.State)
			}
			if r.At.IsZero() {
				r.At = s.now()
			}
			st[i] = r
		}
		return statusRecords(nil, st, len(qf.status)), nil
	})
}

// SetDelayWarned durably records that a delay notice was sent.
func (s *Store) SetDelayWarned(queue, id string) error {
	return s.appendState(queue, id, func(*queueFile) ([]byte, error) {
		return appendRecord(nil, recWarned, nil), nil
	})
}

// Defer records the next attempt time and moves the message to deferred.
func (s *Store) Defer(id, from string, next time.Time) error {
	err := s.appendState(from, id, func(*queueFile) ([]byte, error) {
		return appendRecord(nil, recNextRetry, appendTime(nil, next)), nil
	})
	if err != nil || from == Deferred {
		return err
	}
	return s.Move(id, from, Deferred)
}

// appendState appends the record build returns to a queue file and
// fsyncs it; on failure the file is cut back to its previous length.
func (s *Store) appendState(queue, id string, build func(*queueFile) ([]byte, error)) error {
	if err := checkName(queue, id); err != nil {
		return err
	}
	defer s.lock(id)()
	f, qf, err := s.openFile(queue, id, os.O_RDWR)
	if err != nil {
		return err
	}
	defer f.Close()
	rec, err := build(qf)
	if err != nil {
		return err
	}
	if qf.validEnd < qf.fileSize {
		// A torn append (a crash or a failed Update): drop it, or it would
		// hide the new record from readers.
		s.log.Warn(fmt.Sprintf("%s: dropping %d bytes of damaged state at the end of %s/%s",
			id, qf.fileSize-qf.validEnd, queue, id))
	}
	if err := s.appendAt(f, rec, qf.validEnd); err != nil {
		return s.noSpace(fmt.Errorf("queue: %w", err))
	}
	if tail := qf.validEnd + int64(len(rec)) - qf.tailOff; tail > compactAfter {
		if err := s.compact(queue, id, f, tail); err != nil {
			// The update itself is durable; the file just stays long.
			s.log.Warn(fmt.Sprintf("%s: compact queue file: %v", id, err))
		}
	}
	return nil
}

// appendAt writes rec at off, dropping anything after it, and fsyncs.
func (s *Store) appendAt(f *os.File, rec []byte, off int64) error {
	undo := func() { f.Truncate(off) }
	if err := s.check("truncate", f.Name()); err != nil {
		return fmt.Errorf("truncate %s: %w", f.Name(), err)
	}
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("truncate %s: %w", f.Name(), err)
	}
	if _, err := (faultWriter{s, f}).WriteAt(rec, off); err != nil {
		undo()
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := s.fsyncFile(f); err != nil {
		undo()
		return err
	}
	return nil
}

// Move renames a message from one queue to another and makes the change
// durable. On a failed directory fsync the message may be in either.
func (s *Store) Move(id, from, to string) error { return s.move(id, from, to, true) }

// Activate moves a message from incoming or deferred into active without
// waiting for the directories to reach the disk: start-up recovery puts
// active messages back into incoming, so a rename lost in a crash changes
// nothing (a deferred message is then tried at its planned time instead
// of at once). It saves the queue manager two fsyncs per message.
func (s *Store) Activate(id, from string) error {
	if from != Incoming && from != Deferred {
		return fmt.Errorf("queue: activate %s from %s: only incoming and deferred messages", id, from)
	}
	return s.move(id, from, Active, false)
}

func (s *Store) move(id, from, to string, durable bool) error {
	if err := checkName(from, id); err != nil {
		return err
	}
	if err := checkName(to, id); err != nil {
		return err
	}
	if from == to {
		return nil
	}
	src, dst := s.path(from, id), s.path(to, id)
	if durable && from == Incoming {
		// A file in incoming may have its name on disk before its data
		// (Enqueue flushes both at once; only incoming is checked whole
		// at recovery): its data first.
		if err := s.syncData(from, id); err != nil {
			return err
		}
	}
	unlock := s.lock(id)
	if _, err := os.Lstat(dst); err == nil {
		unlock()
		return fmt.Errorf("queue: move %s to %s: %w", id, to, ErrExists)
	}
	err := s.rename(src, dst)
	unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("queue: %w: %s/%s", ErrNotFound, from, id)
	} else if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	if !durable {
		return nil
	}
	// The new name first: whatever a file system makes of a crash in
	// between, the message is not lost.
	if err := s.syncs[to].Wait(); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	if err := s.syncs[from].Wait(); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}

// Remove deletes a message for good.
func (s *Store) Remove(queue, id string) error { return s.removeFile(queue, id, true) }

// Finish removes a message whose recipients are all recorded as done,
// without waiting for the directory to reach the disk: if a crash undoes
// the unlink, the file comes back with nothing left to deliver and is
// removed again. It saves the queue manager one fsync per message.
func (s *Store) Finish(queue, id string) error { return s.removeFile(queue, id, false) }

func (s *Store) removeFile(queue, id string, durable bool) error {
	if err := checkName(queue, id); err != nil {
		return err
	}
	unlock := s.lock(id)
	err := s.remove(s.path(queue, id))
	unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("queue: %w: %s/%s", ErrNotFound, queue, id)
	} else if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	if !durable {
		return nil
	}
	if err := s.syncs[queue].Wait(); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}

// syncData fsyncs the data of a queue file.
func (s *Store) syncData(queue, id string) error {
	f, err := openNoPoll(s.path(queue, id), os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("queue: %w: %s/%s", ErrNotFound, queue, id)
	} else if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	defer f.Close()
	if err := s.fsyncFile(f); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}
