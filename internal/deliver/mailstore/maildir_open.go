package mailstore

import (
	"os"
	"path"
	"strings"
	"syscall"
)

// openMaildirFast opens tmp/ and new/ of the Maildir dir below r when
// every directory on the way and both of them exist as real directories:
// each component is opened from the one before with O_NOFOLLOW and
// O_DIRECTORY, which refuses a symbolic link or a non-directory as
// openMaildir's checks do, in one system call each (openMaildir's
// Lstat, open and close per directory were ~10 % of the daemon's CPU
// with 50 recipients per message). ok is false when anything is missing
// or not a plain directory, or dir is not a plain relative path: the
// caller then takes openMaildir's way, which creates what is missing
// (for its owner) and says what is wrong. cur/ is not looked at here:
// Postfix's local(8) too creates a Maildir's directories only when a
// delivery finds one missing.
func openMaildirFast(r *os.Root, dir string) (tmpDir, newDir *os.File, ok bool) {
	names := strings.Split(dir, "/")
	for _, n := range names {
		if n == "" || n == ".." {
			return nil, nil, false
		}
	}
	top, err := openDir(r, ".")
	if err != nil {
		return nil, nil, false
	}
	defer top.Close()
	tfd, nfd := -1, -1
	err = withFD(top, func(rfd int) error {
		md := rfd // the directory reached so far; closed once left, but r's
		defer func() { closeUnless(md, rfd) }()
		for _, n := range names {
			fd, err := openSubdir(md, n)
			closeUnless(md, rfd)
			md = rfd
			if err != nil {
				return err
			}
			md = fd
		}
		var err error
		if tfd, err = openSubdir(md, "tmp"); err != nil {
			return err
		}
		if nfd, err = openSubdir(md, "new"); err != nil {
			syscall.Close(tfd)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, nil, false
	}
	base := path.Join(r.Name(), dir)
	return os.NewFile(uintptr(tfd), base+"/tmp"), os.NewFile(uintptr(nfd), base+"/new"), true
}

// openSubdir opens the directory name in the directory dfd, refusing a
// symbolic link.
func openSubdir(dfd int, name string) (int, error) {
	return retryEINTR(func() (int, error) {
		return syscall.Openat(dfd, name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	})
}

// closeUnless closes fd unless it is keep.
func closeUnless(fd, keep int) {
	if fd != keep {
		syscall.Close(fd)
	}
}
