package queue

import (
	"os"
	"syscall"
)

// openNoPoll opens path as os.OpenFile does, minus what os.OpenFile adds
// for a file that might be a pipe or a terminal: it switches every new
// descriptor to non-blocking mode, offers it to the network poller (which
// refuses regular files) and switches it back, five system calls that
// the queue pays several times per message for nothing. os.NewFile keeps
// a blocking descriptor out of the poller.
func openNoPoll(path string, flag int, perm os.FileMode) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, uint32(perm.Perm()))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(fd), path), nil
	}
}
