package mailstore

import (
	"io"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A Maildir delivery works in two directories it holds open (tmp/ and
// new/), by name relative to them: one system call per step, where
// os.Root walks from its root again each time (an open and a close per
// directory per step). It holds them, and the copy it writes, by bare
// descriptor (dirFD, fileFD): an *os.File costs an fcntl to learn its
// mode, a finalizer, and for an open through os a failed epoll_ctl,
// each per copy. Each name is a single component opened with
// O_NOFOLLOW: no symbolic link is followed.

// openDir opens the directory name below r. O_NONBLOCK (meaningless for
// a directory) spares os its switch to non-blocking mode and back.
func openDir(r *os.Root, name string) (*os.File, error) {
	return r.OpenFile(name, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
}

// withFD runs op on dir's descriptor.
func withFD(dir *os.File, op func(fd int) error) error {
	rc, err := dir.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := rc.Control(func(fd uintptr) { opErr = op(int(fd)) }); err != nil {
		return err
	}
	return opErr
}

// dirFD is a directory held open by its descriptor alone (no *os.File:
// no finalizer, no fcntl to learn its mode), with the name it goes by
// in messages.
type dirFD struct {
	fd   int
	name string
}

// noDir is no directory: what an open that failed returns, so that a
// stray close cannot close another file's descriptor number.
var noDir = dirFD{fd: -1}

func (d dirFD) close() {
	if d.fd >= 0 {
		syscall.Close(d.fd)
	}
}

func (d dirFD) path(name string) string { return d.name + "/" + name }

// create creates the file name in d, exclusively, for writing.
func (d dirFD) create(name string, perm uint32) (fileFD, error) {
	fd, err := retryEINTR(func() (int, error) {
		return syscall.Openat(d.fd, name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, perm)
	})
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: d.path(name), Err: err}
	}
	return fileFD(fd), nil
}

// remove removes the file name from d.
func (d dirFD) remove(name string) error {
	_, err := retryEINTR(func() (int, error) { return 0, syscall.Unlinkat(d.fd, name) })
	if err != nil {
		return &os.PathError{Op: "unlink", Path: d.path(name), Err: err}
	}
	return nil
}

// stat returns what name in d is, without following a link: nothing
// is opened at a name a user may control.
func (d dirFD) stat(name string) (st unix.Stat_t, err error) {
	_, err = retryEINTR(func() (int, error) {
		return 0, unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	})
	return st, err
}

// link links oldname in d as newname in to (linkat(2), which package
// syscall lacks).
func (d dirFD) link(oldname string, to dirFD, newname string) error {
	oldp, err := syscall.BytePtrFromString(oldname)
	if err != nil {
		return err
	}
	newp, err := syscall.BytePtrFromString(newname)
	if err != nil {
		return err
	}
	_, err = retryEINTR(func() (int, error) {
		_, _, errno := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(d.fd), uintptr(unsafe.Pointer(oldp)),
			uintptr(to.fd), uintptr(unsafe.Pointer(newp)), 0, 0)
		if errno != 0 {
			return 0, errno
		}
		return 0, nil
	})
	if err != nil {
		return &os.LinkError{Op: "link", Old: d.path(oldname), New: to.path(newname), Err: err}
	}
	return nil
}

// fileFD is a file being written, by its descriptor alone.
type fileFD int

// Write writes all of p (a regular file: a short write is retried for
// the rest, and ends only with an error such as ENOSPC).
func (f fileFD) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := syscall.Write(int(f), p[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.ErrShortWrite
		}
		n += m
	}
	return n, nil
}

func (f fileFD) sync() error {
	_, err := retryEINTR(func() (int, error) { return 0, syscall.Fsync(int(f)) })
	return err
}

func (f fileFD) close() error { return syscall.Close(int(f)) }

func retryEINTR(op func() (int, error)) (int, error) {
	for {
		n, err := op()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
