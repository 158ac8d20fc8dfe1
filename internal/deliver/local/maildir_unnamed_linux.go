//go:build linux && (amd64 || arm64)

package local

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"syscall"
	"unsafe"
)

// oTmpfile is O_TMPFILE: __O_TMPFILE (the same on amd64 and arm64) with
// O_DIRECTORY, which differs between them.
const oTmpfile = 0o20000000 | syscall.O_DIRECTORY

// storeUnnamed writes the copy as an unnamed file in new/ (O_TMPFILE),
// fsyncs it and links it as new/name, so that it appears whole or not at
// all, as through tmp/, with no name in tmp/ to create and remove (a
// crash before the link leaves no file behind: the file system frees the
// inode, on ext4 without a journal at the next fsck). done is false when
// the system cannot (no O_TMPFILE, no /proc): the caller uses tmp/.
func (d *delivery) storeUnnamed(md *os.Root, newDir *os.File, name string, o owner) (done bool, err error) {
	fd, err := syscall.Openat(int(newDir.Fd()), ".", oTmpfile|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return false, nil
	}
	f := os.NewFile(uintptr(fd), path.Join(md.Name(), "new", "(unnamed)"))
	defer f.Close() // after the link: /proc/self/fd/N names this file only while it is open
	if err := d.fillCopy(f, o); err != nil {
		return true, err
	}
	err = linkProcFD(fd, newDir, name)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EXDEV) { // no /proc
		return false, nil
	}
	return true, d.linked(md, err, name)
}

// linkProcFD gives the open unnamed file fd the name name in dir,
// through /proc/self/fd (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH).
func linkProcFD(fd int, dir *os.File, name string) error {
	from, err := syscall.BytePtrFromString("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return err
	}
	to, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	const atFDCWD, atSymlinkFollow = -100, 0x400
	cwd := atFDCWD
	if _, _, e := syscall.Syscall6(syscall.SYS_LINKAT, uintptr(cwd), uintptr(unsafe.Pointer(from)),
		dir.Fd(), uintptr(unsafe.Pointer(to)), atSymlinkFollow, 0); e != 0 {
		return fmt.Errorf("linkat: %w", e)
	}
	return nil
}
