// Package spoolperm gives the queue and data directories back to
// mail_owner with the modes the daemon expects: `postfix
// set-permissions` for postern. The daemon itself sets them up at start
// (it chowns the two directories, creates the queues 0700, prepares the
// maildrop); this repairs them after a restore from backup, a copy with
// the wrong owner, or a chmod -R.
//
// It runs as root in directories mail_owner can write, so it must not be
// turned against other files: it walks through file descriptors
// (internal/fdperm), never follows a symbolic link, never leaves the
// file system of the top directory, and leaves alone (reporting them)
// files with several hard links and anything that is neither a regular
// file nor a directory.
package spoolperm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/postern-mta/postern/internal/fdperm"
	"github.com/postern-mta/postern/internal/pickup"
	"github.com/postern-mta/postern/internal/queue"
)

// Owner is the user and group the directories are given to.
type Owner struct{ UID, GID int }

// queueDirs are the queues under queue_directory that only mail_owner
// reads and writes; "tmp" holds the queue's spare files.
var queueDirs = []string{queue.Incoming, queue.Active, queue.Deferred, queue.Hold, queue.Corrupt, "tmp"}

// Result lists the paths Fix changed, and the ones it left alone with
// the reason (a symbolic link, a file with several links, a socket, a
// mount point).
type Result struct {
	Changed []string
	Skipped []string
}

// Fix makes queueDir and dataDir (created if missing, mode 0755) and
// everything in them owned by o, the queues mode 0700 and the queue
// files in them 0600, and sets up the maildrop as the daemon does. Files
// in the maildrop keep their owner: that is the identity of the local
// user who submitted them.
func Fix(queueDir, dataDir string, o Owner) (Result, error) {
	f := &fixer{o: o}
	var tops [2]*os.File
	for i, d := range []string{queueDir, dataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return f.Result, err
		}
		dir, err := fdperm.OpenDir(d)
		if err != nil {
			return f.Result, err
		}
		defer dir.Close()
		tops[i] = dir
	}
	qst, err := fdperm.Stat(tops[0])
	if err != nil {
		return f.Result, err
	}
	if err := f.set(tops[0], &qst, 0); err != nil {
		return f.Result, err
	}
	for _, q := range queueDirs {
		if err := unix.Mkdirat(int(tops[0].Fd()), q, 0o700); err == nil {
			f.Changed = append(f.Changed, filepath.Join(queueDir, q))
		} else if !errors.Is(err, unix.EEXIST) {
			return f.Result, &os.PathError{Op: "mkdir", Path: filepath.Join(queueDir, q), Err: err}
		}
		d, err := fdperm.OpenDirAt(tops[0], q)
		if err != nil {
			if f.skip(err) {
				continue
			}
			return f.Result, err
		}
		err = f.tree(d, qst.Dev, 0o700, 0o600)
		d.Close()
		if err != nil {
			return f.Result, err
		}
	}
	dst, err := fdperm.Stat(tops[1])
	if err != nil {
		return f.Result, err
	}
	if err := f.tree(tops[1], dst.Dev, 0, 0); err != nil {
		return f.Result, err
	}
	md := filepath.Join(queueDir, queue.Maildrop)
	before, _ := fdperm.LstatAt(tops[0], queue.Maildrop)
	if err := pickup.Prepare(queueDir, o.UID, o.GID); err != nil {
		return f.Result, err
	}
	if after, err := fdperm.LstatAt(tops[0], queue.Maildrop); err == nil &&
		(before.Mode != after.Mode || before.Uid != after.Uid || before.Gid != after.Gid) {
		f.Changed = append(f.Changed, md)
	}
	return f.Result, nil
}

type fixer struct {
	o Owner
	Result
}

// tree owns the open directory dir and everything under it on the
// file system dev; dirMode and fileMode, when not 0, are the modes of
// its directories and regular files.
func (f *fixer) tree(dir *os.File, dev uint64, dirMode, fileMode uint32) error {
	st, err := fdperm.Stat(dir)
	if err != nil {
		return err
	}
	if st.Dev != dev {
		f.Skipped = append(f.Skipped, dir.Name()+": another file system (a mount point): left alone")
		return nil
	}
	if err := f.set(dir, &st, dirMode); err != nil {
		return err
	}
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read %s: %w", dir.Name(), err)
	}
	for _, name := range names {
		if err := f.entry(dir, name, dev, dirMode, fileMode); err != nil {
			return err
		}
	}
	return nil
}

// entry owns name in dir: a directory is walked, a regular file with a
// single link on dev is changed, anything else is reported and left
// alone. Everything is checked on the open descriptor, so a name swapped
// for a link after the check is not followed.
func (f *fixer) entry(dir *os.File, name string, dev uint64, dirMode, fileMode uint32) error {
	lst, err := fdperm.LstatAt(dir, name)
	if err != nil {
		if errors.Is(err, unix.ENOENT) { // a queue file delivered meanwhile
			return nil
		}
		return err
	}
	if fdperm.IsDir(&lst) {
		sub, err := fdperm.OpenDirAt(dir, name)
		if err != nil {
			if f.skip(err) {
				return nil
			}
			return err
		}
		defer sub.Close()
		return f.tree(sub, dev, dirMode, fileMode)
	}
	path := filepath.Join(dir.Name(), name)
	if err := fdperm.Changeable(&lst); err != nil {
		f.Skipped = append(f.Skipped, path+": "+err.Error())
		return nil
	}
	file, err := fdperm.OpenFileAt(dir, name)
	if err != nil {
		if f.skip(err) {
			return nil
		}
		return err
	}
	defer file.Close()
	st, err := fdperm.Stat(file)
	if err != nil {
		return err
	}
	if st.Dev != dev {
		f.Skipped = append(f.Skipped, path+": another file system: left alone")
		return nil
	}
	if !fdperm.IsRegular(&st) {
		f.Skipped = append(f.Skipped, path+": not a regular file or directory: left alone")
		return nil
	}
	return f.set(file, &st, fileMode)
}

// set gives the open f to the owner, with mode when not 0; a file that
// must not be changed is reported, not an error.
func (f *fixer) set(file *os.File, st *unix.Stat_t, mode uint32) error {
	if err := fdperm.Changeable(st); err != nil {
		f.Skipped = append(f.Skipped, file.Name()+": "+err.Error())
		return nil
	}
	changed, err := fdperm.Set(file, st, f.o.UID, f.o.GID, mode)
	if err != nil {
		return fmt.Errorf("give %s to mail_owner: %w", file.Name(), err)
	}
	if changed {
		f.Changed = append(f.Changed, file.Name())
	}
	return nil
}

// skip reports an entry that vanished (nothing to say) or that turned
// out to be a symbolic link or not a directory when opened (swapped
// after the check): left alone. Other errors are real.
func (f *fixer) skip(err error) bool {
	var pe *os.PathError
	switch {
	case errors.Is(err, unix.ENOENT):
		return true
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ENXIO):
		if errors.As(err, &pe) {
			f.Skipped = append(f.Skipped, pe.Path+": a symbolic link or not what it was a moment ago: left alone")
		} else {
			f.Skipped = append(f.Skipped, err.Error())
		}
		return true
	}
	return false
}
