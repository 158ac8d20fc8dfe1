package queue

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// recover repairs the queue after a crash: see "Recovery" in
// store_doc.go. Only an unusable directory makes it fail.
func (s *Store) recover() error {
	// Removals are made durable in the background (store_retire.go): a
	// crash may leave some renamed to tmp/spare.* but not yet synced. Sync
	// the directories they left first, so that a power loss after a spare
	// is reused can never bring the old name back on another message.
	for _, q := range []string{Active, Incoming, Deferred, Hold} {
		if err := s.fsyncDir(filepath.Join(s.dir, q)); err != nil {
			s.log.Warn(fmt.Sprintf("recovery: %v", err))
		}
	}
	tmp := filepath.Join(s.dir, tmpDir)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(tmp, e.Name())
		if s.spares.adopt(path, e) {
			continue
		}
		if err := os.Remove(path); err != nil {
			s.log.Warn(fmt.Sprintf("remove temporary queue file: %v", err))
		}
	}
	active, err := s.List(Active)
	if err != nil {
		return err
	}
	for _, id := range active {
		if q, ok := s.alsoIn(id); ok {
			// A rename into active that a power loss tore (a file
			// system without a journal keeps both names of the inode):
			// the other name is the message's.
			s.log.Warn(fmt.Sprintf("%s: %s/%s is also %s/%s: the name in %s removed", id, Active, id, q, id, Active))
			if err := os.Remove(s.path(Active, id)); err != nil {
				s.log.Warn(fmt.Sprintf("%s: remove %s/%s: %v", id, Active, id, err))
			}
			continue
		}
		if err := s.Move(id, Active, Incoming); err != nil {
			s.log.Warn(fmt.Sprintf("%s: cannot requeue %s/%s: %v", id, Active, id, err))
		}
	}
	if err := s.fsyncDir(filepath.Join(s.dir, Active)); err != nil {
		s.log.Warn(fmt.Sprintf("recovery: %v", err))
	}
	// What could not be moved back is checked like incoming, where it
	// came from: the queue manager's scan delivers it.
	for _, q := range []string{Active, Incoming, Deferred, Hold} {
		// Only in incoming (and active, now moved there) may a file's
		// name have reached the disk before its data: Enqueue flushes
		// both at once, and every way out of incoming but into active
		// flushes the file first.
		if err := s.checkQueue(q, q == Incoming || q == Active); err != nil {
			return err
		}
	}
	return nil
}

// alsoIn reports the queue other than active that holds the file of
// active/id under the same name, if any.
func (s *Store) alsoIn(id string) (string, bool) {
	a, err := os.Lstat(s.path(Active, id))
	if err != nil {
		return "", false
	}
	for _, q := range []string{Incoming, Deferred, Hold} {
		if o, err := os.Lstat(s.path(q, id)); err == nil && os.SameFile(a, o) {
			return q, true
		}
	}
	return "", false
}

// checkQueue moves the damaged files of one queue to corrupt; with
// whole, it checks every file's envelope and content against the
// checksum of its end marker, not just the header, envelope and end
// marker.
func (s *Store) checkQueue(queue string, whole bool) error {
	entries, err := os.ReadDir(filepath.Join(s.dir, queue))
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !ValidID(name) || !e.Type().IsRegular() {
			s.log.Warn(fmt.Sprintf("unexpected file %s/%s in the queue: ignored", queue, name))
			continue
		}
		err := s.checkFile(queue, name, whole)
		if err == nil || errors.Is(err, ErrNotFound) {
			continue
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, syscall.EIO) {
			if !whole {
				s.log.Warn(fmt.Sprintf("%s: cannot check %s/%s: %v", name, queue, name, err))
				continue
			}
			// Its content may not be what its envelope was sent with
			// (a power loss): not delivered unchecked, but kept for the
			// administrator (review 19b L4).
			s.log.Warn(fmt.Sprintf("%s: cannot check %s/%s: %v; moved to %s (postsuper -H %s releases it unchecked)", name, queue, name, err, Hold, name))
			if err := s.Move(name, queue, Hold); err != nil {
				s.log.Warn(fmt.Sprintf("%s: cannot move to %s: %v", name, Hold, err))
			}
			continue
		}
		s.log.Warn(fmt.Sprintf("corrupt queue file %s/%s: %v", queue, name, err))
		if err := s.Move(name, queue, Corrupt); err != nil {
			s.log.Warn(fmt.Sprintf("%s: cannot move to %s: %v", name, Corrupt, err))
		}
	}
	return nil
}

// checkFile checks queue/name: its header, envelope and end marker, and
// with whole its envelope and content against the end marker's
// checksum.
func (s *Store) checkFile(queue, name string, whole bool) error {
	f, qf, err := s.openFile(queue, name, os.O_RDONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	if !whole {
		return nil
	}
	if err := s.check("verify", f.Name()); err != nil {
		return err
	}
	return qf.verify(f)
}

// compact rewrites a queue file whose appended state has grown to tail
// bytes as its envelope and content plus one snapshot of the state, if
// that is less than half the size. The caller holds the message's lock.
func (s *Store) compact(queue, id string, f *os.File, tail int64) (err error) {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	qf, err := parseQueueFile(f, st.Size(), id)
	if err != nil {
		return err
	}
	all := make(map[int]RcptStatus, len(qf.status))
	for i, r := range qf.status {
		all[i] = r
	}
	snap := statusRecords(nil, all, len(qf.status))
	if qf.warned {
		snap = appendRecord(snap, recWarned, nil)
	}
	if !qf.next.IsZero() {
		snap = appendRecord(snap, recNextRetry, appendTime(nil, qf.next))
	}
	if tail <= 2*int64(len(snap)) {
		return nil
	}
	tmp := filepath.Join(s.dir, tmpDir, id+".compact")
	os.Remove(tmp) // left by an earlier failure
	out, err := openNoPoll(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	w := faultWriter{s, out}
	if _, err := io.Copy(w, io.NewSectionReader(f, 0, qf.tailOff)); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if _, err := w.Write(snap); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := s.fsyncFile(out); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := s.rename(tmp, s.path(queue, id)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s/%s vanished", queue, id)
		}
		return err
	}
	return s.syncs[queue].Wait()
}
