package mailstore

import (
	"errors"
	"os"
	"syscall"
)

// fOFDSetlk is F_OFD_SETLK (Linux 3.15). Open file description locks
// conflict with the classic fcntl locks of mail readers like those do
// with each other, but belong to the open file rather than the process:
// two goroutines of this process exclude each other too, and closing
// some other descriptor of the file does not drop the lock.
const fOFDSetlk = 37

// fcntlLock tries once to take an exclusive lock on all of f.
func fcntlLock(f *os.File) error {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
	err := syscall.FcntlFlock(f.Fd(), fOFDSetlk, &lk)
	if errors.Is(err, syscall.EINVAL) { // an older kernel
		err = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
	}
	return err
}
