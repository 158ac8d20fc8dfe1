package mailstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
)

// Append appends c to the file name below r: it takes the dotlock of
// s.Locks, if any (a dotlock that cannot be created for another reason
// than "taken" only matters when !dotlockMayFail), opens or creates the
// file for o (SafeOpen), lets check veto it, takes the kernel locks of
// s.Locks and appends the copy. On a write error the file is cut back to
// its old size, so that the mailbox never holds half a message. Devices
// (/dev/null) are neither locked nor synced. The error is a StepError
// but for the reason's prefix.
//
// Postfix opens before it dotlocks; taking the dotlock first makes
// creating and chowning a new mailbox one step for every writer that
// honours the dotlock, so that no goroutine finds a mailbox that root
// has created but not yet given to its user.
func (s *Store) Append(r *os.Root, name string, o Owner, c *Copy, dotlockMayFail bool, check func(os.FileInfo) error) error {
	o = ChownTo(o)
	if st, err := r.Lstat(name); s.Locks.Dotlock && (err != nil || st.Mode().IsRegular()) {
		lock := name + ".lock"
		switch err := s.dotlock(c.ctx(), r, lock); {
		case err == nil:
			defer r.Remove(lock)
		case errors.Is(err, fs.ErrExist) || !dotlockMayFail:
			dsn := ErrnoDSN(err, c.DSN)
			if errors.Is(err, fs.ErrExist) {
				dsn = "4.2.0"
			}
			return Fail(dsn, fmt.Sprintf("unable to create lock file %s: %s", path.Join(r.Name(), lock), Strerror(err)))
		default:
			s.warn(fmt.Sprintf("unable to create lock file %s: %s", path.Join(r.Name(), lock), Strerror(err)))
		}
	}
	f, st, err := SafeOpen(r, name, o)
	if err != nil {
		return failErr(err, c.DSN, err.Error())
	}
	defer f.Close()
	if err := check(st); err != nil {
		return err
	}
	if st.Mode().IsRegular() && (s.Locks.Fcntl || s.Locks.Flock) {
		if err := s.lockFile(c.ctx(), f); err != nil {
			return failErr(err, c.DSN, "unable to lock for exclusive access: "+Strerror(err))
		}
		// The file may have been replaced while we waited for the lock.
		if st, err := f.Stat(); err != nil || checkOpened(r, name, st) != nil {
			return Fail("4.2.0", "target file status changed unexpectedly")
		}
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return failErr(err, c.DSN, "cannot seek: "+Strerror(err))
	}
	err = c.Write(&limitWriter{w: f, n: c.sizeLimit(size)})
	if err == nil && st.Mode().IsRegular() {
		err = f.Sync()
	}
	if err != nil {
		if st.Mode().IsRegular() {
			f.Truncate(size)
		}
		return CopyError(err)
	}
	return nil
}
