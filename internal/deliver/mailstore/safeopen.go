package mailstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"syscall"
)

// Owner is who a created file or directory is given to; UID -1 leaves
// the creator's.
type Owner struct{ UID, GID int }

// NoChown leaves created files to their creator.
var NoChown = Owner{-1, -1}

// ChownTo is o when running as root; otherwise files stay ours.
func ChownTo(o Owner) Owner {
	if os.Geteuid() != 0 {
		return NoChown
	}
	return o
}

// SafeOpen opens the file name below r for appending, or creates it with
// mode 0600 for o, as Postfix's safe_open() does: an existing file must
// not be a symbolic link or a directory, must have exactly one hard link
// (a hard link to a system file is no mailbox) and must be the file that
// was opened (no swap between open and check). r already keeps the path
// from leading outside its directory.
func SafeOpen(r *os.Root, name string, o Owner) (*os.File, os.FileInfo, error) {
	const flags = os.O_WRONLY | os.O_APPEND | syscall.O_NONBLOCK
	f, st, err := openExisting(r, name, flags)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, st, err
	}
	f, err = r.OpenFile(name, flags|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // created meanwhile
		return openExisting(r, name, flags)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot create file exclusively: %s", Strerror(err))
	}
	if err := syncParent(r, name); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("cannot create file: %s", Strerror(err))
	}
	if o.UID >= 0 {
		if err := f.Chown(o.UID, o.GID); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("cannot change file ownership: %s", Strerror(err))
		}
	}
	st, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

// openExisting opens an existing file and checks it; the error wraps
// fs.ErrNotExist when there is no file.
func openExisting(r *os.Root, name string, flags int) (*os.File, os.FileInfo, error) {
	// Look first: os.Root follows a symbolic link that stays inside it,
	// and opening one must not even be tried (it could be a FIFO).
	lst, err := r.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open file: %s", Strerror(err))
	}
	if lst.Mode()&fs.ModeSymlink != 0 {
		return nil, nil, errors.New("file is a symbolic link")
	}
	f, err := r.OpenFile(name, flags, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("cannot open file: %s", Strerror(err))
	}
	st, err := f.Stat()
	if err == nil {
		err = checkOpened(r, name, st)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, st, nil
}

// checkOpened compares the open file with what name is now.
func checkOpened(r *os.Root, name string, st os.FileInfo) error {
	fsys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("cannot examine file")
	}
	if fsys.Nlink != 1 {
		return fmt.Errorf("file has %d hard links", fsys.Nlink)
	}
	if st.IsDir() {
		return errors.New("file is a directory")
	}
	lst, err := r.Lstat(name)
	if err != nil {
		return fmt.Errorf("file status changed unexpectedly: %s", Strerror(err))
	}
	if lst.Mode()&fs.ModeSymlink != 0 {
		return errors.New("file is a symbolic link")
	}
	lsys, ok := lst.Sys().(*syscall.Stat_t)
	if !ok || lsys.Dev != fsys.Dev || lsys.Ino != fsys.Ino || lsys.Nlink != fsys.Nlink || lsys.Mode != fsys.Mode {
		return errors.New("file status changed unexpectedly")
	}
	return nil
}

// ensureDir makes sure the directory name below r exists and is no
// symbolic link, creating it with mode 0700 for o if needed.
func ensureDir(r *os.Root, name string, o Owner) error {
	st, err := r.Lstat(name)
	switch {
	case err == nil && st.Mode()&fs.ModeSymlink != 0:
		return errors.New("file is a symbolic link")
	case err == nil && !st.IsDir():
		return errors.New("not a directory")
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := r.Mkdir(name, 0o700); err == nil {
		if err := syncParent(r, name); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	if o.UID < 0 {
		return nil
	}
	d, err := r.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer d.Close()
	// Chown the directory that was opened, and only if name still is
	// that directory.
	dst, err := d.Stat()
	if err != nil {
		return err
	}
	if lst, err := r.Lstat(name); err != nil || !os.SameFile(lst, dst) {
		return errors.New("file status changed unexpectedly")
	}
	return d.Chown(o.UID, o.GID)
}

// syncParent fsyncs the directory that holds name below r, once name was
// created there: until then a crash can take the new entry, and a copy
// delivered into it, away (on ext2, or ext4 without a journal), though
// the copy itself was fsynced. Only a mailbox's first delivery pays it.
func syncParent(r *os.Root, name string) error {
	d, err := r.Open(path.Dir(name))
	if err != nil {
		return err
	}
	defer d.Close()
	return SyncParentDir(d)
}
