package cleanup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// MemLimit is how much content a Spool keeps in memory; beyond it the
// content goes to a temporary file.
const MemLimit = 64 << 10

// Spool holds content while it arrives, so that stages can read it as
// often as they need: in memory up to MemLimit bytes, then in a
// temporary file under dir that has no name (O_TMPFILE; where the file
// system cannot do that, a name that is removed as soon as the file is
// open), so that nothing is left behind when the process dies. The size
// is bounded by the caller (message_size_limit, which the SMTP reader
// and pickup enforce). A Spool is not safe for concurrent use.
type Spool struct {
	dir  string
	mem  []byte
	f    *os.File // the overflow file, once mem would outgrow MemLimit
	size int64
	err  error // the first write error: every later Write returns it
}

// NewSpool returns an empty spool whose overflow file, if any, goes in
// dir (os.TempDir when empty).
func NewSpool(dir string) *Spool { return &Spool{dir: dir} }

// Write appends p. A failure to create or write the overflow file (a
// full disk) is returned, also by every later Write.
func (s *Spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.f == nil && len(s.mem)+len(p) <= MemLimit {
		if s.mem == nil {
			s.mem = (*spoolBufs.Get().(*[]byte))[:0]
		}
		s.mem = append(s.mem, p...)
		s.size += int64(len(p))
		return len(p), nil
	}
	if s.f == nil {
		f, err := tempFile(s.dir)
		if err == nil {
			_, err = f.Write(s.mem)
		}
		if err != nil {
			if f != nil {
				f.Close()
			}
			s.err = fmt.Errorf("cleanup: spool: %w", err)
			return 0, s.err
		}
		s.f = f
		s.free()
	}
	n, err := s.f.Write(p)
	s.size += int64(n)
	if err != nil {
		s.err = fmt.Errorf("cleanup: spool: %w", err)
	}
	return n, s.err
}

// Size is the number of bytes written.
func (s *Spool) Size() int64 { return s.size }

// InFile reports whether the content outgrew memory.
func (s *Spool) InFile() bool { return s.f != nil }

// Reader reads the content from offset off to the end. Readers are
// independent; the spool must not be written while one is in use, nor
// read after Close.
func (s *Spool) Reader(off int64) io.Reader {
	off = min(max(off, 0), s.size)
	if s.f != nil {
		return io.NewSectionReader(s.f, off, s.size-off)
	}
	return bytes.NewReader(s.mem[off:])
}

// Close releases the memory and the overflow file (which has no name:
// closing it frees its space).
func (s *Spool) Close() error {
	s.free()
	s.size = 0
	if s.err == nil {
		s.err = errClosed
	}
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

var errClosed = errors.New("cleanup: spool closed")

// spoolBufs recycles the memory of spools, MemLimit bytes each: a
// message held in memory costs no allocation of its own.
var spoolBufs = sync.Pool{New: func() any { b := make([]byte, 0, MemLimit); return &b }}

// free gives the memory back; nothing may read it any more.
func (s *Spool) free() {
	if cap(s.mem) == MemLimit {
		b := s.mem[:0]
		spoolBufs.Put(&b)
	}
	s.mem = nil
}

var tempSeq atomic.Uint64

// tmpfileFlag is oTmpfile; tests take it away.
var tmpfileFlag = oTmpfile

// tempFile opens a read-write file under dir that no name refers to.
func tempFile(dir string) (*os.File, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	fd, err := syscall.Open(dir, syscall.O_RDWR|syscall.O_CLOEXEC|tmpfileFlag, 0o600)
	if err == nil {
		return os.NewFile(uintptr(fd), filepath.Join(dir, "(spool)")), nil
	}
	if !errors.Is(err, syscall.EOPNOTSUPP) && !errors.Is(err, syscall.EISDIR) && !errors.Is(err, syscall.EINVAL) {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	// No O_TMPFILE here: a new name, removed at once. The name never
	// looks like a queue file or a spare (queue recovery removes it
	// from queue_directory/tmp should the process die in between).
	for range 10 {
		name := filepath.Join(dir, "cleanup."+strconv.FormatInt(time.Now().UnixNano(), 36)+"."+strconv.FormatUint(tempSeq.Add(1), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := os.Remove(name); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	return nil, fmt.Errorf("open %s: no free temporary name", dir)
}
