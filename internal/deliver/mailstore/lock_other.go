//go:build !linux

package mailstore

import (
	"os"
	"syscall"
)

// fcntlLock tries once to take an exclusive lock on all of f. The lock
// belongs to the process: the dotlock, taken first, keeps goroutines of
// this process apart.
func fcntlLock(f *os.File) error {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
	return syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
}
