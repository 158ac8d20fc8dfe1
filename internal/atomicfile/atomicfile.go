// Package atomicfile replaces files so that a reader, or a crash, sees
// either the old content or the new, never a mix: write a temporary file
// in the same directory, fsync it, rename it into place, fsync the
// directory.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// syncDir is a seam for tests that simulate failures.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// WriteFile atomically replaces path with data. An existing file keeps its
// permissions; a new one gets perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return WriteFileOwned(path, data, perm, -1, -1)
}

// WriteFileOwned is WriteFile that also gives the file the owner uid and
// group gid (-1: the writer's), as a replaced file must keep the owner
// and group that let a daemon read it (a chown that fails is an error
// and the old file stays).
func WriteFileOwned(path string, data []byte, perm os.FileMode, uid, gid int) error {
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	}
	return write(path, data, perm, uid, gid, func(tmp string) error {
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rename into %s: %w", path, err)
		}
		return nil
	})
}

// WriteFileMode replaces path with data, mode perm, whatever the file it
// replaces was: for files a root daemon writes in a directory another
// user can write (the pid file in data_directory), where the old file,
// or a symbolic link put in its place, must lend nothing (the new file
// is created O_EXCL and renamed over the name, never written through it).
func WriteFileMode(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, -1, -1, func(tmp string) error {
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rename into %s: %w", path, err)
		}
		return nil
	})
}

// CreateOwned writes a new file as WriteFileOwned does, but never over
// an existing one: the temporary file is linked into place, and an
// existing path fails with an error that wraps fs.ErrExist.
func CreateOwned(path string, data []byte, perm os.FileMode, uid, gid int) error {
	return write(path, data, perm, uid, gid, func(tmp string) error {
		if err := os.Link(tmp, path); err != nil {
			return fmt.Errorf("link into %s: %w", path, err)
		}
		return os.Remove(tmp)
	})
}

// write makes the complete, synced temporary file and hands its name to
// publish, which puts it in place; then the directory is synced.
func write(path string, data []byte, perm os.FileMode, uid, gid int, publish func(tmp string) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if uid != -1 || gid != -1 {
		if err := tmp.Chown(uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", tmp.Name(), err)
		}
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := publish(tmp.Name()); err != nil {
		return err
	}
	done = true
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
