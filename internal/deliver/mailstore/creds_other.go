//go:build !linux

package mailstore

import (
	"errors"
	"os"
)

// WithFSCreds runs fn with the file system rights of uid and gid. Only
// Linux can give one thread another user's rights; elsewhere a process
// running as root refuses rather than act as root on the user's behalf.
func WithFSCreds(uid, gid int, fn func() error) error {
	if os.Geteuid() != 0 || uid == 0 {
		return fn()
	}
	return errors.New("delivery with another user's rights is not supported on this system")
}
