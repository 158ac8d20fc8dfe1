package postscreen

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CacheSuffix is appended to the path of postscreen_cache_map to name
// postern's own cache file: whatever the map type says (btree, lmdb,
// hash, cdb), the file is postern's text format (cachefile.go), never
// Postfix's database, which postern cannot read.
const CacheSuffix = ".postern"

// cacheTypes are the map types postscreen_cache_map may name (each is
// postern's own file); proxy: may precede them.
var cacheTypes = []string{"btree", "lmdb", "hash", "cdb"}

// CacheMap is a postscreen_cache_map value.
type CacheMap struct {
	Name string // as configured: "btree:/var/lib/postern/postscreen_cache"
	Path string // postern's file: the map's path + CacheSuffix; "": no cache
}

// ParseCacheMap reads a postscreen_cache_map value. An empty one is no
// cache, as in Postfix: every client is tested at every connection.
func ParseCacheMap(v string) (CacheMap, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return CacheMap{}, nil
	}
	typ, path, ok := strings.Cut(strings.TrimPrefix(v, "proxy:"), ":")
	if !ok {
		return CacheMap{}, fmt.Errorf("%q is not a type:name map", v)
	}
	if !slices.Contains(cacheTypes, typ) {
		return CacheMap{}, fmt.Errorf("%q: postern keeps the postscreen cache in a file of its own, named by a btree:, lmdb:, hash: or cdb: map (optionally after proxy:), not in a %s: table", v, typ)
	}
	if !filepath.IsAbs(path) {
		return CacheMap{}, fmt.Errorf("%q: the file name must be an absolute path (the default is btree:$data_directory/postscreen_cache)", v)
	}
	return CacheMap{Name: v, Path: filepath.Clean(path) + CacheSuffix}, nil
}

// CacheOptions configure a cache with a file.
type CacheOptions struct {
	Retention time.Duration // postscreen_cache_retention_time
	Cleanup   time.Duration // postscreen_cache_cleanup_interval; 0: never
	Log       *slog.Logger  // the postscreen program's
	Now       func() time.Time
}

// maxPending bounds the record lines waiting for the writer; beyond, the
// file misses records until the next compaction writes them.
const maxPending = 1 << 20

// diskState is the file side of a Cache. Its fields are guarded by
// Cache.mu, except those under fmu.
type diskState struct {
	m       CacheMap
	opts    CacheOptions
	pending []byte // record lines not written yet
	spare   []byte // a written buffer, reused for pending
	// dirty: the file misses records (a failed write, a full pending
	// buffer); the next compaction rewrites it, and nothing is appended
	// before (never after a line a failed write may have cut).
	dirty  bool
	closed bool

	wake, reconf, stop chan struct{}
	done               chan struct{}
	stopOnce           sync.Once
	closeErr           error

	fmu         sync.Mutex // the file: appends and compactions
	f           *os.File   // appends; nil after a failed reopen
	failing     bool       // a write failed and was logged
	lastCompact time.Time
}

func (d *diskState) now() time.Time {
	if d.opts.Now != nil {
		return d.opts.Now()
	}
	return time.Now()
}

// queue adds a record line for the writer (under Cache.mu).
func (d *diskState) queue(addr netip.Addr, r Record) {
	if d.closed {
		return
	}
	if len(d.pending) >= maxPending {
		d.dirty = true
	} else {
		d.pending, _ = appendRecord(d.pending, addr, r)
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// OpenCache returns the cache of m, loaded from its file, or nil (no
// cache) for an empty m. The file is created if missing, compacted
// (records expired for longer than the retention time dropped, damaged
// lines skipped with a warning), and from then on appended to by a
// writer goroutine and compacted every cleanup interval, until Close.
// A file that is a symbolic link, not a regular file, not owned by the
// process's user, or not a postern cache file is refused.
func OpenCache(m CacheMap, o CacheOptions) (*Cache, error) {
	if m.Path == "" {
		return nil, nil
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	c := NewCache()
	d := &diskState{m: m, opts: o, wake: make(chan struct{}, 1), reconf: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	f, err := openOwned(m.Path, os.O_RDONLY)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("postscreen_cache_map %s: %w", m.Name, err)
	default:
		st, err := readCache(f, func(a netip.Addr, r Record) { c.records[a] = r })
		f.Close()
		if errors.Is(err, errNotCacheFile) {
			return nil, fmt.Errorf("postscreen_cache_map %s: %s is %w: move it away, or name another file", m.Name, m.Path, err)
		}
		if err != nil {
			return nil, fmt.Errorf("postscreen_cache_map %s: %s: %w", m.Name, m.Path, err)
		}
		if st.bad > 0 {
			o.Log.Warn(fmt.Sprintf("postscreen_cache_map %s: %s: skipped %d damaged of %d records (the first at line %d: %s): those clients are tested again",
				m.Name, m.Path, st.bad, st.lines, st.firstBad, st.badReason))
		}
	}
	c.disk = d
	d.fmu.Lock()
	_, _, err = c.compact()
	d.fmu.Unlock()
	if err != nil {
		if d.f != nil {
			d.f.Close()
		}
		return nil, err
	}
	go c.run()
	return c, nil
}

// openOwned opens path without following a symbolic link, and only if
// it is a regular file of the process's user: a file another user
// planted is never read or written.
func openOwned(path string, flag int) (*os.File, error) {
	// O_NONBLOCK: a planted FIFO must not block the open.
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link: refused", path)
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file: refused", path)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		f.Close()
		return nil, fmt.Errorf("%s is owned by uid %d, not by postern's uid %d: refused (give it to mail_owner, or remove it)", path, sys.Uid, os.Geteuid())
	}
	return f, nil
}

// Name is the cache's postscreen_cache_map ("" for a cache without a
// file).
func (c *Cache) Name() string {
	if c == nil || c.disk == nil {
		return ""
	}
	return c.disk.m.Name
}

// Configure sets the retention time and cleanup interval of a cache
// with a file (a reload that keeps its postscreen_cache_map). A changed
// interval counts from now; an unchanged one keeps its schedule, so
// that reloads do not put the cleanup off.
func (c *Cache) Configure(retention, cleanup time.Duration) {
	if c == nil || c.disk == nil {
		return
	}
	c.mu.Lock()
	changed := c.disk.opts.Cleanup != cleanup
	c.disk.opts.Retention, c.disk.opts.Cleanup = retention, cleanup
	c.mu.Unlock()
	if changed {
		select {
		case c.disk.reconf <- struct{}{}:
		default:
		}
	}
}
