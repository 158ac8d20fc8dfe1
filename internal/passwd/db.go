package passwd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DB is a passwd-file in use. It reloads itself when the file changes:
// each lookup stats the file (device, inode, size, modification time)
// and reads it again when any differs. A new version that does not
// parse is logged once and the previous one stays in use.
type DB struct {
	path string
	log  *slog.Logger

	mu        sync.Mutex
	file      *File
	loaded    fileID // the version in use
	failed    fileID // the last version that did not load (logged once)
	hasFailed bool
}

type fileID struct {
	dev, ino uint64
	size     int64
	mtime    time.Time
}

// Open reads the passwd-file at path; an unreadable or bad file is an
// error. log receives reload failures (nil: slog.Default()).
func Open(path string, log *slog.Logger) (*DB, error) {
	db := &DB{path: path, log: log}
	f, id, err := load(path)
	if err != nil {
		return nil, err
	}
	db.file, db.loaded = f, id
	db.warnCosts(f)
	return db, nil
}

// manyCosts is the number of different schemes and costs above which a
// file is logged: each failed login verifies one hash of each.
const manyCosts = 3

// warnCosts logs a file with more than manyCosts schemes and costs.
func (db *DB) warnCosts(f *File) {
	if len(f.dummies) <= manyCosts {
		return
	}
	costs := make([]string, len(f.dummies))
	for i, d := range f.dummies {
		costs[i] = d.cost
	}
	db.logger().Warn(fmt.Sprintf("passwd-file %s: %d different password schemes and costs (%s): every failed login verifies one hash of each, so that its time does not tell whether the user exists; move users to one scheme (postern passwd)",
		db.path, len(costs), strings.Join(costs, "; ")))
}

// SetLog replaces the logger for reload failures.
func (db *DB) SetLog(log *slog.Logger) {
	db.mu.Lock()
	db.log = log
	db.mu.Unlock()
}

// Path is the file's name.
func (db *DB) Path() string { return db.path }

func statID(fi os.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = uint64(st.Dev), st.Ino
	}
	return id
}

// load reads and parses path; the id is the stat taken before reading,
// and a file that changed while being read is an error (the next
// lookup tries again).
func load(path string) (*File, fileID, error) {
	fd, err := os.Open(path)
	if errors.Is(err, fs.ErrPermission) {
		return nil, fileID{}, fmt.Errorf("%w (the daemon runs as mail_owner: give the file its group, mode 0640)", err)
	}
	if err != nil {
		return nil, fileID{}, err
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return nil, fileID{}, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fileID{}, fmt.Errorf("%s: not a regular file", path)
	}
	id := statID(fi)
	data, err := io.ReadAll(io.LimitReader(fd, MaxFileSize+1))
	if err != nil {
		return nil, id, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, id, fmt.Errorf("%s: larger than %d MiB", path, MaxFileSize>>20)
	}
	f, err := Parse(path, data)
	return f, id, err
}

// current is the file to use: reloaded first if it changed on disk.
func (db *DB) current() *File {
	fi, err := os.Stat(db.path)
	db.mu.Lock()
	defer db.mu.Unlock()
	if err != nil {
		db.failOnce(fileID{}, err)
		return db.file
	}
	id := statID(fi)
	if id == db.loaded {
		db.hasFailed = false // back to the version in use: log the next failure
		return db.file
	}
	if db.hasFailed && id == db.failed {
		return db.file
	}
	f, got, err := load(db.path)
	if err == nil && got != id {
		return db.file // changed again meanwhile: the next lookup reads it
	}
	if err != nil {
		db.failOnce(id, err)
		return db.file
	}
	db.file, db.loaded, db.hasFailed = f, id, false
	db.logger().Info(fmt.Sprintf("passwd-file %s: reloaded, %d users", db.path, len(f.Users)))
	db.warnCosts(f)
	return f
}

// failOnce logs a version that did not load (id is zero when the file
// cannot be stat'ed), once per version.
func (db *DB) failOnce(id fileID, err error) {
	if db.hasFailed && db.failed == id {
		return
	}
	db.failed, db.hasFailed = id, true
	db.logger().Warn(fmt.Sprintf("passwd-file %s: %v; keeping the version read before", db.path, err))
}

func (db *DB) logger() *slog.Logger {
	if db.log == nil {
		return slog.Default()
	}
	return db.log
}

// Result is the outcome of Verify.
type Result struct {
	OK     bool
	User   string // the name that logged in, lowercased
	Reason string // why not, for the log only
}

// verifySlots bound the verifications running at once in the process,
// whatever the number of DBs: every smtpd_sasl_path of a master.cf -o
// override, and each configuration generation still serving sessions,
// opens its own. One verification runs its hashes one after the other
// and an Argon2 hash takes at most MaxArgon2Memory (postern passwd's
// take 64 MiB), so hashing never holds more than GOMAXPROCS times that.
// A verification that finds every slot taken waits.
var verifySlots = make(chan struct{}, runtime.GOMAXPROCS(0))

// ErrBusy is returned when ctx ends while waiting for a verification
// slot.
var ErrBusy = errors.New("passwd-file: too many verifications waiting")

// Verify checks user's password. The time a failure takes does not
// tell whether the user exists, nor whether the password was right
// (a right password refused by nologin or allow_nets): every failure,
// whatever its reason, verifies one hash of each scheme and cost in the
// file (File.dummies), the user's own hash standing in for the dummy of
// its cost. An unknown user of a file that mixes SHA512-CRYPT and
// ARGON2ID users (the state while users move to postern passwd's
// ARGON2ID) thus takes as long as a wrong password for either kind.
// Only a success returns after its own hash alone. from is the client's
// address (allow_nets); the zero Addr matches no allow_nets.
func (db *DB) Verify(ctx context.Context, user, password string, from netip.Addr) (Result, error) {
	f := db.current()
	name := lower(user)
	e := f.Users[name]
	var h Hash // the user's hash, nil when unknown or locked
	cost := ""
	if e != nil {
		if _, isLocked := e.Hash.(locked); !isLocked {
			h, cost = e.Hash, e.cost
		}
	}
	select {
	case verifySlots <- struct{}{}:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("%w: %v", ErrBusy, ctx.Err())
	}
	ok := h != nil && h.Verify([]byte(password))
	r := result(e, ok, name, from)
	if !r.OK {
		for _, d := range f.dummies {
			if d.cost != cost {
				d.h.Verify([]byte(password))
			}
		}
	}
	<-verifySlots
	return r, nil
}

// result is the outcome for entry e (nil: unknown user) once its hash
// was verified (ok: the password matched).
func result(e *Entry, ok bool, name string, from netip.Addr) Result {
	switch {
	case e == nil:
		return Result{Reason: "unknown user"}
	case e.cost == "": // only a locked account has no cost
		return Result{Reason: "account is locked"}
	case !ok:
		return Result{Reason: "wrong password"}
	case e.NoLogin:
		r := "nologin"
		if e.Reason != "" {
			r += ": " + e.Reason
		}
		return Result{Reason: r}
	case !e.allowed(from):
		return Result{Reason: fmt.Sprintf("allow_nets does not include %s", from)}
	}
	return Result{OK: true, User: name}
}
