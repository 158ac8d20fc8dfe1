// Package fdperm changes owners and modes as root inside directories a
// less privileged user can write (the queue and data directories belong
// to mail_owner) without being turned against files outside them.
//
// A path checked and then changed by name can be swapped in between: a
// directory replaced by a symbolic link, or a hard link to a root file
// planted in the queue. So every change here goes through a file
// descriptor: directories are opened one level at a time relative to
// their parent with O_NOFOLLOW|O_DIRECTORY, files with O_NOFOLLOW, and
// fstat on that descriptor says what it is (type, owner, links, device)
// before fchown or fchmod touches it. A symbolic link is never followed,
// a file with more than one link is never changed.
package fdperm

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

const (
	dirFlags  = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fileFlags = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
)

// OpenDir opens the directory path, the top of a walk. The path is the
// administrator's (queue_directory, data_directory: directories above
// them belong to root), so a symbolic link in it is followed, as a
// spool directory moved to another disk and linked back is common;
// everything below is opened with OpenDirAt and OpenFileAt.
func OpenDir(path string) (*os.File, error) {
	fd, err := openat(unix.AT_FDCWD, path, dirFlags&^unix.O_NOFOLLOW)
	if err != nil {
		return nil, &os.PathError{Op: "open directory", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// OpenDirAt opens the directory name in dir, never through a symbolic
// link.
func OpenDirAt(dir *os.File, name string) (*os.File, error) {
	path := filepath.Join(dir.Name(), name)
	fd, err := openat(int(dir.Fd()), name, dirFlags)
	if err != nil {
		return nil, &os.PathError{Op: "open directory", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// OpenFileAt opens name in dir for fstat, fchown and fchmod: read-only,
// never through a symbolic link, never blocking (a FIFO), never as a
// controlling terminal. The caller checks the type with Stat.
func OpenFileAt(dir *os.File, name string) (*os.File, error) {
	path := filepath.Join(dir.Name(), name)
	fd, err := openat(int(dir.Fd()), name, fileFlags)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// LstatAt describes name in dir without following a symbolic link.
func LstatAt(dir *os.File, name string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return st, &os.PathError{Op: "lstat", Path: filepath.Join(dir.Name(), name), Err: err}
	}
	return st, nil
}

// Stat describes the open file f.
func Stat(f *os.File) (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return st, &os.PathError{Op: "fstat", Path: f.Name(), Err: err}
	}
	return st, nil
}

// IsDir and IsRegular tell the type of a Stat_t.
func IsDir(st *unix.Stat_t) bool     { return st.Mode&unix.S_IFMT == unix.S_IFDIR }
func IsRegular(st *unix.Stat_t) bool { return st.Mode&unix.S_IFMT == unix.S_IFREG }

// Perm is the permission bits of st, set-id and sticky bits included.
func Perm(st *unix.Stat_t) uint32 { return st.Mode & 0o7777 }

// Set gives the open file f (described by st, from Stat(f)) to uid:gid
// and, when mode is not 0, sets its permission bits (0o7777: set-id and
// sticky bits included). It refuses anything but a directory or a
// regular file with a single link: those are the only files whose change
// cannot reach a file outside the directory they were found in. It
// reports whether it changed anything.
func Set(f *os.File, st *unix.Stat_t, uid, gid int, mode uint32) (bool, error) {
	if err := Changeable(st); err != nil {
		return false, fmt.Errorf("%s: %w", f.Name(), err)
	}
	changed := false
	fd := int(f.Fd())
	if uid >= 0 && (int(st.Uid) != uid || int(st.Gid) != gid) {
		if err := unix.Fchown(fd, uid, gid); err != nil {
			return changed, &os.PathError{Op: "fchown", Path: f.Name(), Err: err}
		}
		changed = true
	}
	// chown clears the set-id bits: compare with what the file has now.
	if mode != 0 && (changed || Perm(st) != mode) {
		if err := unix.Fchmod(fd, mode); err != nil {
			return changed, &os.PathError{Op: "fchmod", Path: f.Name(), Err: err}
		}
		changed = changed || Perm(st) != mode
	}
	return changed, nil
}

// Changeable says why the file described by st must not be given away
// or have its mode changed, or returns nil.
func Changeable(st *unix.Stat_t) error {
	switch {
	case IsDir(st):
		return nil
	case !IsRegular(st):
		return fmt.Errorf("not a regular file or directory (mode %o): left alone", st.Mode)
	case st.Nlink != 1:
		return fmt.Errorf("has %d hard links, so it may be a file from outside: left alone", st.Nlink)
	}
	return nil
}

func openat(dir int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dir, name, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// ChmodSocket sets the mode of the Unix socket this process has just
// bound at path, in a directory another user can write. The name is
// resolved once, without following a symbolic link (an O_PATH
// descriptor), and the mode changes only if that is a socket with a
// single link owned by this process's user: never a file swapped in
// after the bind.
func ChmodSocket(path string, mode uint32) error {
	fd, err := openat(unix.AT_FDCWD, path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK || st.Nlink != 1 || int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s: not the socket just bound (mode %o, %d links, uid %d): replaced by another user?", path, st.Mode, st.Nlink, st.Uid)
	}
	// fchmod on an O_PATH descriptor fails; its /proc link reaches the
	// very inode checked above, as glibc's fchmodat(AT_SYMLINK_NOFOLLOW).
	if err := unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode); err != nil {
		return &os.PathError{Op: "chmod", Path: path, Err: err}
	}
	return nil
}
