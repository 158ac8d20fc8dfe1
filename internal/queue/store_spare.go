package queue

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Spare queue files. Creating a file costs a file system far more than
// overwriting one: an inode to allocate, and on ext4 without a journal a
// search past every inode freed in the last minutes (recently_deleted),
// which under a steady load made each creation cost more CPU than the
// rest of a message's queue work together; freeing the file's blocks
// may cost a discard request too. So Complete keeps the file of a
// finished message, renamed to tmp/spare.PID.N.M, and Enqueue overwrites
// it for the next message instead of creating tmp/ID: a busy queue then
// allocates and frees neither inodes nor blocks. The pool must cover a
// burst (messages accepted faster than they are delivered complete
// later all at once), hence its size.
//
// A spare keeps nothing of the message it held: Complete scrubs it
// (scrubSpare) before it joins the pool, and recovery scrubs the spares
// an earlier process left, so delivered mail does not stay readable in
// the queue directory. The scrub overwrites the content with zeros,
// without a sync: the file's blocks stay allocated and written, so the
// next message overwrites them with no metadata change (cutting the
// file or FALLOC_FL_ZERO_RANGE would make the next message's fdatasync
// commit the allocation or the extent conversion, and free or discard
// blocks; both measured slower, see BenchmarkEnqueueComplete), and the
// zeros usually sit in the page cache until that message overwrites
// them. A crash may bring the old content back from the disk; recovery
// scrubs again. CheckSpace gives the spares' space back when the disk
// runs short.
const (
	maxSpares     = 4096     // spare files kept at most
	maxSpareBytes = 32 << 20 // and their total size
	maxSpareSize  = 1 << 20  // larger files are removed, not kept
)

// scrubSpare overwrites the size bytes of the file at path with zeros.
func scrubSpare(path string, size int64) error {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	for off := int64(0); off < size; {
		n, err := syscall.Pwrite(fd, zeros[:min(size-off, int64(len(zeros)))], off)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: path, Err: err}
		}
		off += int64(n)
	}
	return nil
}

var zeros = make([]byte, 64<<10)

// spareFiles is the pool of spare files in tmp/. A file joins it only
// once the directory entry it left is durably gone, so that no crash can
// bring back the old name with a new message's content.
type spareFiles struct {
	dir     string
	prefix  string // "spare.PID.STORE.": no two stores share names
	enabled bool   // the store recovered the queue, so owns tmp/

	mu       sync.Mutex
	free     []spare // ready for Enqueue
	reserved int     // names handed out by reserve, not yet put or dropped
	bytes    int64   // size of the free and reserved spares
	next     uint64
}

type spare struct {
	path string
	size int64
}

// reserve returns a new spare name for a file of size bytes, or "" when
// the pool is full.
func (p *spareFiles) reserve(size int64) string {
	if !p.enabled || size > maxSpareSize {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free)+p.reserved >= maxSpares || p.bytes+size > maxSpareBytes {
		return ""
	}
	p.reserved++
	p.bytes += size
	p.next++
	return filepath.Join(p.dir, p.prefix+strconv.FormatUint(p.next, 10))
}

var storeCount atomic.Uint64

// newSpareFiles returns an empty pool whose names start with
// "spare.TIME.STORE.": no two stores, in this process or an earlier one,
// name spares alike.
func newSpareFiles(dir string, enabled bool) spareFiles {
	return spareFiles{dir: dir, enabled: enabled,
		prefix: fmt.Sprintf("spare.%x.%d.", time.Now().UnixNano(), storeCount.Add(1))}
}

// adopt takes a spare left by an earlier store into the pool, at start-up
// recovery: a file is as good as new whatever it holds, and keeping it
// saves creating one. Only a file with no other name qualifies: a crash
// between the steps that move a file into or out of the pool may leave
// it linked in a queue too, and it must not be overwritten then.
func (p *spareFiles) adopt(path string, e fs.DirEntry) bool {
	if !strings.HasPrefix(e.Name(), "spare.") || !e.Type().IsRegular() {
		return false
	}
	st, err := os.Lstat(path)
	if err != nil || st.Size() > maxSpareSize {
		return false
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); !ok || sys.Nlink != 1 {
		return false
	}
	if p.reserve(st.Size()) == "" {
		return false
	}
	// An earlier process may have died before scrubbing it, or a crash
	// undone the scrub.
	if err := scrubSpare(path, st.Size()); err != nil {
		p.drop(st.Size())
		return false
	}
	p.put(path, st.Size())
	return true
}

// put adds a reserved name, now a file, to the pool; drop gives up a
// reservation.
func (p *spareFiles) put(path string, size int64) {
	p.mu.Lock()
	p.reserved--
	p.free = append(p.free, spare{path, size})
	p.mu.Unlock()
}

func (p *spareFiles) drop(size int64) {
	p.mu.Lock()
	p.reserved--
	p.bytes -= size
	p.mu.Unlock()
}

// take removes a spare from the pool.
func (p *spareFiles) take() (spare, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		return spare{}, false
	}
	sp := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	p.bytes -= sp.size
	return sp, true
}

// drain removes every spare file, to give its space back, and returns
// how many there were.
func (p *spareFiles) drain() int {
	p.mu.Lock()
	free := p.free
	p.free = nil
	for _, sp := range free {
		p.bytes -= sp.size
	}
	p.mu.Unlock()
	for _, sp := range free {
		os.Remove(sp.path)
	}
	return len(free)
}

// Complete removes a message whose recipients are all done. The removal
// is made durable in the background within removeDelay, by one fsync of
// the directory for every removal of that time (see retiring): nobody
// waits for it, since a crash that undoes it only brings the message
// back with its last deliveries not recorded, to be made again (a
// duplicate, never a loss), and the queue manager therefore calls
// Complete instead of Update then Finish. The file is kept as a spare
// for a later Enqueue when there is room, once its removal is durable,
// so every reader of the message's content must be closed before
// Complete: the file may hold another message afterwards.
func (s *Store) Complete(queue, id string) error {
	if err := checkName(queue, id); err != nil {
		return err
	}
	src := s.path(queue, id)
	unlock := s.lock(id)
	to, size := "", int64(0)
	if st, err := os.Lstat(src); err == nil && st.Mode().IsRegular() {
		size = st.Size()
		to = s.spares.reserve(size)
	}
	var err error
	if to != "" {
		err = s.rename(src, to)
	} else {
		err = s.remove(src)
	}
	unlock()
	if err != nil {
		if to != "" {
			s.spares.drop(size)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("queue: %w: %s/%s", ErrNotFound, queue, id)
		}
		return fmt.Errorf("queue: %w", err)
	}
	s.retiring.add(s, queue, spare{to, size})
	return nil
}
