// Package spoolperm gives the queue and data directories back to
// mail_owner with the modes the daemon expects: `postfix
// set-permissions` for postern. The daemon itself sets them up at start
// (it chowns the two directories, creates the queues 0700, prepares the
// maildrop); this repairs them after a restore from backup, a copy with
// the wrong owner, or a chmod -R.
package spoolperm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/postern-mta/postern/internal/pickup"
	"github.com/postern-mta/postern/internal/queue"
)

// Owner is the user and group the directories are given to.
type Owner struct{ UID, GID int }

// queueDirs are the queues under queue_directory that only mail_owner
// reads and writes; "tmp" holds the queue's spare files.
var queueDirs = []string{queue.Incoming, queue.Active, queue.Deferred, queue.Hold, queue.Corrupt, "tmp"}

// Fix makes queueDir and dataDir (created if missing, mode 0755) and
// everything in them owned by o, the queues mode 0700 and the queue
// files in them 0600, and sets up the maildrop as the daemon does. Files
// in the maildrop keep their owner: that is the identity of the local
// user who submitted them. It returns the paths it changed.
func Fix(queueDir, dataDir string, o Owner) ([]string, error) {
	f := &fixer{o: o}
	for _, d := range []string{queueDir, dataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return f.changed, err
		}
		if err := f.own(d, 0); err != nil {
			return f.changed, err
		}
	}
	for _, q := range queueDirs {
		dir := filepath.Join(queueDir, q)
		if err := os.Mkdir(dir, 0o700); err == nil {
			f.changed = append(f.changed, dir)
		} else if !errors.Is(err, fs.ErrExist) {
			return f.changed, err
		}
		if err := f.tree(dir, 0o700, 0o600); err != nil {
			return f.changed, err
		}
	}
	if err := f.tree(dataDir, 0, 0); err != nil {
		return f.changed, err
	}
	md := filepath.Join(queueDir, queue.Maildrop)
	before, _ := os.Lstat(md)
	if err := pickup.Prepare(queueDir, o.UID, o.GID); err != nil {
		return f.changed, err
	}
	if after, err := os.Lstat(md); err == nil && (before == nil || before.Mode() != after.Mode() || !sameOwner(before, after)) {
		f.changed = append(f.changed, md)
	}
	return f.changed, nil
}

type fixer struct {
	o       Owner
	changed []string
}

// tree owns everything under root (root included); dirMode and fileMode,
// when not 0, are the modes of its directories and regular files.
func (f *fixer) tree(root string, dirMode, fileMode fs.FileMode) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fileMode
		if d.IsDir() {
			mode = dirMode
		} else if !d.Type().IsRegular() {
			mode = 0 // sockets, links: the owner only
		}
		return f.own(path, mode)
	})
}

// own gives path to f.o and, when mode is not 0, sets its permissions.
func (f *fixer) own(path string, mode fs.FileMode) error {
	st, err := os.Lstat(path)
	if err != nil {
		return err
	}
	changed := false
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && (int(sys.Uid) != f.o.UID || int(sys.Gid) != f.o.GID) {
		if err := os.Lchown(path, f.o.UID, f.o.GID); err != nil {
			return fmt.Errorf("give %s to mail_owner: %w", path, err)
		}
		changed = true
	}
	if mode != 0 && st.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != mode {
		if err := os.Chmod(path, mode); err != nil {
			return err
		}
		changed = true
	}
	if changed {
		f.changed = append(f.changed, path)
	}
	return nil
}

func sameOwner(a, b fs.FileInfo) bool {
	x, ok1 := a.Sys().(*syscall.Stat_t)
	y, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && x.Uid == y.Uid && x.Gid == y.Gid
}
