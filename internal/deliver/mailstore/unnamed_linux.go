package mailstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// storeUnnamed writes the copy as an unnamed file in new/ (O_TMPFILE),
// fsyncs it, gives it its name and fsyncs it again: whole or absent in
// new/ as through tmp/, without a tmp/ name to create, sync and remove
// (one directory write fewer per copy), and a killed delivery leaves no
// litter. done is false, with nothing written, when the system refuses
// unnamed files (an old kernel, a file system without O_TMPFILE, no
// /proc): the caller goes through tmp/.
//
// The name is given with linkat(AT_EMPTY_PATH), or where that is refused
// (before Linux 6.10 it needs CAP_DAC_READ_SEARCH, lacking in a thread
// that runs with a user's fsuid, WithFSCreds) through /proc/self/fd/N,
// a path lookup more. The second fsync is what makes the name
// safe: the first wrote the inode with a link count of 0, the link
// raises it in memory only, and without a journal (ext2, ext4 without
// one) nothing else writes it before the queue records the copy: after
// a power cut fsck finds new/NAME on a free inode and clears it
// (TestMaildirCopiesSurvivePowerCut). On ext4 the second fsync also
// writes new/, so the Batch's fsync of new/ that follows finds little
// to do; it stays, as POSIX asks for it.
func (s *Store) storeUnnamed(newDir *os.File, name string, o Owner, c *Copy) (done bool, err error) {
	if !UnnamedCopies || !procFDs() {
		return false, nil
	}
	var fd int
	err = withFD(newDir, func(dfd int) (err error) {
		fd, err = retryEINTR(func() (int, error) {
			return unix.Openat(dfd, ".", unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
		})
		return err
	})
	switch {
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EISDIR), errors.Is(err, unix.EINVAL):
		return false, nil
	case err != nil:
		return true, failErr(err, c.DSN, fmt.Sprintf("create maildir file in %s: %s", newDir.Name(), Strerror(err)))
	}
	f := os.NewFile(uintptr(fd), newDir.Name()+"/"+name)
	defer f.Close() // an unnamed file that got no name goes with it
	if err := fillCopy(f, o, c); err != nil {
		return true, err
	}
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	err = linkUnnamed(fd, newDir, name)
	if errors.Is(err, fs.ErrExist) {
		if !sameSize(newDir, name, size) {
			// Not this copy, though named after its queue ID: it
			// gets a name of its own.
			name = s.UniqueName()
			err = linkUnnamed(fd, newDir, name)
		} else if serr := syncIn(newDir, name); serr != nil {
			// An earlier attempt's copy, maybe killed before its
			// second fsync: durable before it counts as delivered.
			return true, Fail("4.3.0", fmt.Sprintf("fsync %s/%s: %s", newDir.Name(), name, Strerror(serr)))
		}
	}
	if err == nil {
		if err := f.Sync(); err != nil {
			// Named but maybe not durable: deferred, the retry finds
			// it and syncs it.
			return true, Fail("4.3.0", fmt.Sprintf("fsync %s/%s: %s", newDir.Name(), name, Strerror(err)))
		}
	}
	return true, s.linked(newDir, err, name, c)
}

// linkUnnamed links the open file fd as name in dir.
func linkUnnamed(fd int, dir *os.File, name string) error {
	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	err := withFD(dir, func(dfd int) error {
		err := error(unix.ENOENT)
		if linkEmptyPath {
			_, err = retryEINTR(func() (int, error) {
				return 0, unix.Linkat(fd, "", dfd, name, unix.AT_EMPTY_PATH)
			})
		}
		if err != unix.ENOENT {
			return err
		}
		// No CAP_DAC_READ_SEARCH (a user's fsuid), or fd's file
		// is gone, which the path finds out again.
		_, err = retryEINTR(func() (int, error) {
			return 0, unix.Linkat(unix.AT_FDCWD, proc, dfd, name, unix.AT_SYMLINK_FOLLOW)
		})
		return err
	})
	if err != nil {
		return &os.LinkError{Op: "link", Old: proc, New: dir.Name() + "/" + name, Err: err}
	}
	return nil
}

// linkEmptyPath: false makes linkUnnamed go through /proc at once, as
// where the kernel refuses AT_EMPTY_PATH (before Linux 6.10, a thread
// with a user's fsuid is refused; since, the opener of the file is not).
// Only tests change it.
var linkEmptyPath = true

// syncIn fsyncs the file name in dir (not following a link).
func syncIn(dir *os.File, name string) error {
	return withFD(dir, func(dfd int) error {
		fd, err := retryEINTR(func() (int, error) {
			return unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		})
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Fsync(fd)
	})
}

// procFDs reports whether /proc/self/fd is there to name unnamed files
// through.
var procFDs = sync.OnceValue(func() bool {
	st, err := os.Stat("/proc/self/fd")
	return err == nil && st.IsDir()
})
