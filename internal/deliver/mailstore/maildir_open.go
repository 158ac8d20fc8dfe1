package mailstore

import (
	"errors"
	"path"
	"strings"
	"syscall"
)

// errNotPlain is a Maildir path that is not a plain relative one ("",
// "..", "a//b"): only the checking way (openMaildir) takes it.
var errNotPlain = errors.New("not a plain relative path")

// openMaildirAt opens tmp/ and new/ of the Maildir dir below the open
// directory base (named baseName) when every directory on the way and
// both of them exist as real directories: each component is opened from
// the one before with O_NOFOLLOW and O_DIRECTORY, which refuses a
// symbolic link or a non-directory as openMaildir's checks do, in one
// system call each (openMaildir's Lstat, open and close per directory
// were ~10 % of the daemon's CPU with 50 recipients per message). An
// error means nothing is open: something is missing or not a plain
// directory, or dir is not a plain relative path. The caller then takes
// openMaildir's way, which creates what is missing (for its owner) and
// says what is wrong. cur/ is not looked at here: Postfix's local(8)
// too creates a Maildir's directories only when a delivery finds one
// missing.
func openMaildirAt(base int, baseName, dir string) (tmpDir, newDir dirFD, err error) {
	names := strings.Split(dir, "/")
	for _, n := range names {
		if n == "" || n == ".." {
			return noDir, noDir, errNotPlain
		}
	}
	md := base // the directory reached so far; closed once left, but base
	defer func() { closeUnless(md, base) }()
	for _, n := range names {
		fd, err := openSubdir(md, n)
		closeUnless(md, base)
		md = base
		if err != nil {
			return noDir, noDir, err
		}
		md = fd
	}
	tfd, err := openSubdir(md, "tmp")
	if err != nil {
		return noDir, noDir, err
	}
	nfd, err := openSubdir(md, "new")
	if err != nil {
		syscall.Close(tfd)
		return noDir, noDir, err
	}
	name := path.Join(baseName, dir)
	return dirFD{tfd, name + "/tmp"}, dirFD{nfd, name + "/new"}, nil
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
