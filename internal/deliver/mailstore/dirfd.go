package mailstore

import (
	"os"
	"syscall"
	"unsafe"
)

// A Maildir delivery works in two directories it holds open (tmp/ and
// new/), by name relative to them: one system call per step, where
// os.Root walks from its root again each time (an open and a close per
// directory per step), and without os's set-up of a new descriptor for
// the network poller, which refuses files and directories (four fcntl
// calls and a failed epoll_ctl per open). Each name is a single
// component opened with O_NOFOLLOW: no symbolic link is followed.

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

// createIn creates the file name in dir, exclusively, for writing.
func createIn(dir *os.File, name string, perm uint32) (*os.File, error) {
	var fd int
	err := withFD(dir, func(dfd int) (err error) {
		fd, err = retryEINTR(func() (int, error) {
			return syscall.Openat(dfd, name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, perm)
		})
		return err
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir.Name() + "/" + name, Err: err}
	}
	return os.NewFile(uintptr(fd), dir.Name()+"/"+name), nil
}

// removeIn removes the file name from dir.
func removeIn(dir *os.File, name string) error {
	err := withFD(dir, func(dfd int) error {
		_, err := retryEINTR(func() (int, error) { return 0, syscall.Unlinkat(dfd, name) })
		return err
	})
	if err != nil {
		return &os.PathError{Op: "unlink", Path: dir.Name() + "/" + name, Err: err}
	}
	return nil
}

// statIn returns what name in dir is, without following a link (a
// link is an error).
func statIn(dir *os.File, name string) (st syscall.Stat_t, err error) {
	err = withFD(dir, func(dfd int) error {
		fd, err := retryEINTR(func() (int, error) {
			return syscall.Openat(dfd, name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		})
		if err != nil {
			return err
		}
		defer syscall.Close(fd)
		return syscall.Fstat(fd, &st)
	})
	return st, err
}

// linkIn links oldname in olddir as newname in newdir (linkat(2), which
// package syscall lacks).
func linkIn(olddir *os.File, oldname string, newdir *os.File, newname string) error {
	oldp, err := syscall.BytePtrFromString(oldname)
	if err != nil {
		return err
	}
	newp, err := syscall.BytePtrFromString(newname)
	if err != nil {
		return err
	}
	err = withFD(olddir, func(ofd int) error {
		return withFD(newdir, func(nfd int) error {
			_, err := retryEINTR(func() (int, error) {
				_, _, errno := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(ofd), uintptr(unsafe.Pointer(oldp)),
					uintptr(nfd), uintptr(unsafe.Pointer(newp)), 0, 0)
				if errno != 0 {
					return 0, errno
				}
				return 0, nil
			})
			return err
		})
	})
	if err != nil {
		return &os.LinkError{Op: "link", Old: olddir.Name() + "/" + oldname, New: newdir.Name() + "/" + newname, Err: err}
	}
	return nil
}

func retryEINTR(op func() (int, error)) (int, error) {
	for {
		n, err := op()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
