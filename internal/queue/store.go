package queue

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Options configure a Store.
type Options struct {
	MinFree          int64        // queue_minfree bytes; 0 = only the 1.5×MessageSizeLimit rule
	MessageSizeLimit int64        // message_size_limit, for the free-space rule; 0 = no limit
	Log              *slog.Logger // may be nil
	Now              func() time.Time
	// NoRecover skips start-up recovery, for tools that read a queue a
	// running daemon owns (recovery would take the daemon's active files).
	NoRecover bool
}

var (
	// ErrNoSpace: the queue file system is (nearly) full. The SMTP server
	// answers 452 4.3.1 Insufficient system storage.
	ErrNoSpace = errors.New("insufficient system storage")
	// ErrNotFound: no such message in that queue.
	ErrNotFound = errors.New("no such queue file")
	// ErrExists: Enqueue or Move would replace an existing message.
	ErrExists = errors.New("queue ID already in use")
)

// tmpDir holds files being written by Enqueue; recovery empties it.
const tmpDir = "tmp"

// queueDirs are the directories Open creates.
var queueDirs = []string{Maildrop, Incoming, Active, Deferred, Hold, Corrupt}

// Store is the durable on-disk queue (see store_doc.go for the file
// format and the durability protocol). It is safe for concurrent use.
type Store struct {
	dir   string
	opt   Options
	log   *slog.Logger
	now   func() time.Time
	syncs map[string]*groupSync // per queue directory
	locks [64]sync.Mutex        // per message ID (hashed): one writer at a time

	// IDs with this process's PID suffix and a time after seenMicros,
	// the newest ID in the queue when Open recovered it, are fresh (see
	// fresh); -1 when Open did not look (Options.NoRecover).
	pidTag     string
	seenMicros int64
	spares     spareFiles // finished queue files kept for reuse
	retiring   retiring   // Complete's removals and spares, not yet synced

	statMu   sync.Mutex // the last statfs answer, see statfs
	statFree int64
	statAt   time.Time
	space    spaceRule // queue_minfree, message_size_limit; a shortage under way

	fault     fault                               // tests: make file system steps fail
	freeSpace func() (int64, error)               // tests: pretend the disk is full
	syncFile  func(f *os.File) error              // benchmarks: other ways to sync
	scrub     func(path string, size int64) error // scrubSpare; benchmarks: other ways
	bufs      sync.Pool                           // chunkSize buffers for Enqueue
}

// Open opens the queue under dir, creating its directories (mode 0700)
// and, unless opt.NoRecover, recovering from a crash. It fails only when
// the directories are unusable; damaged messages go to corrupt.
func Open(dir string, opt Options) (*Store, error) {
	s := &Store{dir: dir, opt: opt, log: opt.Log, now: opt.Now, syncs: map[string]*groupSync{},
		pidTag: string(appendBase(nil, uint64(os.Getpid()), idDigits51, 1)), seenMicros: -1}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.freeSpace = s.statfs
	s.SetSpaceLimits(opt.MinFree, opt.MessageSizeLimit)
	// fdatasync: a queue file is read back by its content (records,
	// checksums, end marker), never by its timestamps, and overwriting a
	// spare file of the same size then writes no inode.
	s.syncFile = func(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
	s.scrub = scrubSpare
	s.bufs.New = func() any { b := make([]byte, chunkSize); return &b }
	for _, d := range append(queueDirs, tmpDir) {
		path := filepath.Join(dir, d)
		if err := os.MkdirAll(path, 0o700); err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		if st, err := os.Stat(path); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("queue: %s is not a directory", path)
		}
		s.syncs[d] = &groupSync{sync: func() error { return s.fsyncDir(path) }}
	}
	// Only the store that recovered the queue owns tmp/, where spares
	// live.
	s.spares = newSpareFiles(filepath.Join(dir, tmpDir), !opt.NoRecover)
	if !opt.NoRecover {
		if err := s.recover(); err != nil {
			return nil, err
		}
		if err := s.seedIDs(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Dir returns the queue directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(queue, id string) string { return filepath.Join(s.dir, queue, id) }

// lock serialises changes to one message.
func (s *Store) lock(id string) func() {
	h := fnv.New32a()
	h.Write([]byte(id))
	m := &s.locks[h.Sum32()%uint32(len(s.locks))]
	m.Lock()
	return m.Unlock
}

// seedIDs sets seenMicros to the time of the newest ID in the queue and
// moves NewID's clock past it, so that every ID NewID hands out from now
// on is newer than any message already queued, even if the clock went
// back since those were made.
func (s *Store) seedIDs() error {
	var newest int64
	for _, q := range queueDirs {
		entries, err := os.ReadDir(filepath.Join(s.dir, q))
		if err != nil {
			return fmt.Errorf("queue: %w", err)
		}
		for _, e := range entries {
			if t, ok := IDTime(e.Name()); ok {
				newest = max(newest, t.UnixMicro())
			}
		}
	}
	s.seenMicros = newest
	idClock.Lock()
	idClock.last = max(idClock.last, newest)
	idClock.Unlock()
	return nil
}

// fresh reports whether id cannot name a message already in the queue,
// so that Enqueue may skip looking for it in every queue directory: it
// carries this process's PID, which no other live process has, and a
// time after every ID that was in the queue at Open. Such an ID comes
// from NewID in this process, whose clock never repeats itself; only a
// caller that enqueues one ID twice could collide, and the link into
// incoming still refuses that while the first copy is there.
func (s *Store) fresh(id string) bool {
	t, ok := IDTime(id)
	return ok && s.seenMicros >= 0 && id[11:] == s.pidTag && t.UnixMicro() > s.seenMicros
}

// exists reports whether id names a message in any queue.
func (s *Store) exists(id string) bool {
	for _, q := range queueDirs {
		if _, err := os.Lstat(s.path(q, id)); err == nil {
			return true
		}
	}
	return false
}

// Enqueue stores a message in incoming (in hold when env.Hold) and
// returns its ID once the file and its directory entry are on disk. It uses env.ID when set, else a
// new ID; a body error, a cancelled ctx or any file system error means
// nothing was queued.
func (s *Store) Enqueue(ctx context.Context, env *Envelope, body io.Reader) (string, error) {
	if len(env.Recipients) == 0 {
		return "", errors.New("queue: no recipients")
	}
	if err := s.CheckSpace(0); err != nil {
		return "", err
	}
	e := *env
	if e.ID != "" && !ValidID(e.ID) {
		return "", fmt.Errorf("queue: invalid queue ID %q", e.ID)
	}
	if e.ID != "" && !s.fresh(e.ID) && s.exists(e.ID) {
		return "", fmt.Errorf("queue: %w: %s", ErrExists, e.ID)
	}
	for tries := 0; e.ID == "" || (env.ID == "" && !s.fresh(e.ID) && s.exists(e.ID)); tries++ {
		if tries == 10 {
			return "", fmt.Errorf("queue: no free queue ID: %w", ErrExists)
		}
		e.ID = newID(s.now(), os.Getpid())
	}
	if e.Arrival.IsZero() {
		e.Arrival = s.now()
	}
	dir := Incoming
	if e.Hold {
		dir = Hold
	}
	f, tmp, sync, cut, err := s.writeNew(ctx, &e, body, s.syncs[dir])
	if err != nil {
		return "", s.noSpace(fmt.Errorf("queue: %w", err))
	}
	if err := s.publish(ctx, f, tmp, dir, e.ID, sync, cut); err != nil {
		return "", s.noSpace(fmt.Errorf("queue: %w", err))
	}
	return e.ID, nil
}

// writeNew writes a complete queue file in tmp/, streaming the content
// from body, and returns it, still open and not yet synced, and its
// path: a spare (see store_spare.go) or tmp/ID. On failure the file is
// removed. Once the content is written it announces the caller to dir,
// the directory the file is to be linked into, and returns that
// announcement: the caller must use it (publish does).
func (s *Store) writeNew(ctx context.Context, env *Envelope, body io.Reader, dir *groupSync) (_ *os.File, _ string, _ expected, cut bool, err error) {
	f, path, spareSize, err := s.createNew(env.ID)
	if err != nil {
		return nil, "", expected{}, false, err
	}
	var sync expected
	defer func() {
		if err != nil {
			sync.cancel()
			f.Close()
			os.Remove(path)
		}
	}()
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	size, err := encodeQueueFile(ctx, faultWriter{s, f}, env, body, *bp)
	if err != nil {
		return nil, "", expected{}, false, fmt.Errorf("%s: %w", path, err)
	}
	// From here on the caller is a link away from the directory's
	// fsync: a leader syncing it meanwhile may wait for it.
	sync = dir.expect()
	if spareSize > size { // cut off what is left of the previous message
		if err := s.check("truncate", path); err != nil {
			return nil, "", expected{}, false, fmt.Errorf("truncate %s: %w", path, err)
		}
		if err := f.Truncate(size); err != nil {
			return nil, "", expected{}, false, fmt.Errorf("truncate %s: %w", path, err)
		}
		cut = true
	}
	if err := ctx.Err(); err != nil {
		return nil, "", expected{}, false, err // the client is gone: it will never see the ID
	}
	return f, path, sync, cut, nil
}

// createNew opens the file for a new message: a spare when there is
// one, else a new tmp/ID (O_EXCL).
// createNew opens a spare file and returns its size (what a shorter
// message must cut off), or creates tmp/ID (size 0).
func (s *Store) createNew(id string) (f *os.File, path string, spareSize int64, err error) {
	if sp, ok := s.spares.take(); ok {
		if err := s.check("create", sp.path); err != nil {
			os.Remove(sp.path)
			return nil, "", 0, &os.PathError{Op: "open", Path: sp.path, Err: err}
		}
		if f, err := openNoPoll(sp.path, os.O_WRONLY, 0); err == nil {
			// Its true size: records of the old message left past the
			// new one's end would read as the new message's state.
			if st, err := f.Stat(); err == nil {
				return f, sp.path, st.Size(), nil
			}
			f.Close()
		}
		os.Remove(sp.path) // unusable: make a new file instead
	}
	path = filepath.Join(s.dir, tmpDir, id)
	if err := s.check("create", path); err != nil {
		return nil, "", 0, &os.PathError{Op: "create", Path: path, Err: err}
	}
	f, err = openNoPoll(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, "", 0, fmt.Errorf("%w: %s", ErrExists, id)
	}
	return f, path, 0, err
}

// publish links a finished temporary file f (path tmp, still open)
// into queue dir (incoming or hold) and makes it durable: its data with
// an fdatasync and its new name with sync, the caller's announcement to
// dir's fsync group. A caller alone in incoming's group (one session
// sending message after message) runs both flushes at once, after the
// link (recovery checks incoming's files whole); with company, and into
// hold, the data goes first, so that the others' directory fsync can be
// shared meanwhile (the leader gathers while announced callers are on
// their way), as before; and so does a spare cut to the new message's
// length (cut): before the flush a power loss could keep the old length,
// and the old message's state records past the new end marker, which
// the checksum does not cover, would read as the new message's. A link,
// unlike a rename, never replaces a message. It closes f. A ctx cancelled meanwhile takes the message
// back, as a failed flush does.
func (s *Store) publish(ctx context.Context, f *os.File, tmp, dir, id string, sync expected, cut bool) error {
	together := dir == Incoming && !cut && sync.alone()
	if !together {
		if err := s.fsyncFile(f); err != nil {
			sync.cancel()
			f.Close()
			os.Remove(tmp)
			return err
		}
	}
	final := s.path(dir, id)
	unlock := s.lock(id)
	var err error
	if !s.fresh(id) && s.exists(id) {
		err = fmt.Errorf("%w: %s", ErrExists, id)
	} else if err = s.link(tmp, final); errors.Is(err, os.ErrExist) {
		err = fmt.Errorf("%w: %s", ErrExists, id)
	}
	unlock()
	os.Remove(tmp) // a leftover is removed by recovery
	if err != nil {
		sync.cancel()
		f.Close()
		return err
	}
	var synced chan error
	if together {
		// The file is complete (written, cut to length) before its link,
		// so a reader that finds the name reads the whole message; only
		// a power loss before both flushes end can leave the name on
		// other data, and the client never got a 250 for it.
		synced = make(chan error, 1)
		go func() { synced <- s.fsyncFile(f) }()
	}
	err = sync.wait()
	if synced != nil {
		if ferr := <-synced; err == nil {
			err = ferr
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", tmp, cerr)
	}
	if err == nil {
		err = ctx.Err() // the client is gone: it will never see the ID
	}
	if err != nil {
		// Not acknowledged, so not queued: take it back.
		unlock := s.lock(id)
		os.Remove(final)
		unlock()
		return err
	}
	return nil
}
