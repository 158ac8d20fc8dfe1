package postscreen

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestParseCacheMap(t *testing.T) {
	for _, tc := range []struct {
		in, path, err string
	}{
		{"btree:/var/lib/postern/postscreen_cache", "/var/lib/postern/postscreen_cache.postern", ""},
		{"lmdb:/d/c", "/d/c.postern", ""},
		{"hash:/d/c", "/d/c.postern", ""},
		{"cdb:/d//c", "/d/c.postern", ""},
		{"proxy:btree:/d/c", "/d/c.postern", ""},
		{"", "", ""},
		{"memcache:/etc/postfix/memcache.cf", "", "not in a memcache: table"},
		{"proxy:memcache:/x", "", "not in a memcache: table"},
		{"texthash:/d/c", "", "not in a texthash: table"},
		{"BTREE:/d/c", "", "not in a BTREE: table"},
		{"btree:d/c", "", "absolute path"},
		{"/d/c", "", "not a type:name map"},
	} {
		m, err := ParseCacheMap(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || m.Path != tc.path || (m.Path != "" && m.Name != tc.in) {
			t.Errorf("%q: %+v %v, want path %q", tc.in, m, err, tc.path)
		}
	}
}

// cacheLog collects a cache's log lines.
type cacheLog struct {
	mu    sync.Mutex
	lines []string
	ch    chan string
}

func newCacheLog() *cacheLog { return &cacheLog{ch: make(chan string, 100)} }

func (l *cacheLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *cacheLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *cacheLog) WithGroup(string) slog.Handler            { return l }
func (l *cacheLog) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	if r.Level >= slog.LevelWarn {
		line = "warning: " + line
	}
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	select {
	case l.ch <- line:
	default:
	}
	return nil
}

func (l *cacheLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// clock is a settable time for a cache.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var t0 = time.Unix(1765200000, 0)

func openTest(t *testing.T, path string, clk *clock, log *cacheLog) *Cache {
	t.Helper()
	c, err := OpenCache(CacheMap{Name: "btree:" + strings.TrimSuffix(path, CacheSuffix), Path: path},
		CacheOptions{Retention: 7 * 24 * time.Hour, Cleanup: 0, Log: slog.New(log), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Records put in one run are found in the next (at the second: the file
// keeps seconds), in a file only its owner can read.
func TestCacheRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "postscreen_cache.postern")
	clk := &clock{now: t0}
	log := newCacheLog()
	c := openTest(t, path, clk, log)
	want := map[netip.Addr]Record{
		netip.MustParseAddr("192.0.2.1"):   {Pregreet: t0.Add(24 * time.Hour), DNSBL: t0.Add(time.Hour)},
		netip.MustParseAddr("2001:db8::1"): {Pregreet: t0.Add(time.Hour), Pipelining: t0.Add(2 * time.Hour), NonSMTP: t0.Add(3 * time.Hour), BareNewline: t0.Add(4 * time.Hour)},
		netip.MustParseAddr("192.0.2.2"):   {Pregreet: t0.Add(90*time.Minute + 500*time.Millisecond)},
	}
	for a, r := range want {
		c.Put(a, r, t0, 0)
	}
	c.Put(netip.MustParseAddr("192.0.2.1"), want[netip.MustParseAddr("192.0.2.1")], t0, 0) // twice: the last wins
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file %v mode %v, want 0600", err, st.Mode())
	}
	c2 := openTest(t, path, clk, log)
	defer c2.Close()
	for a, r := range want {
		got, ok := c2.Get(a)
		w := Record{}
		for i := range cacheColumns {
			if tm := *cacheColumns[i].field(&r); !tm.IsZero() {
				*cacheColumns[i].field(&w) = tm.Truncate(time.Second)
			}
		}
		if !ok || got != w {
			t.Errorf("%s: %+v %v, want %+v", a, got, ok, w)
		}
	}
	if !strings.Contains(log.text(), "cache btree:"+strings.TrimSuffix(path, CacheSuffix)+" full cleanup: retained=3 dropped=0 entries") {
		t.Errorf("log:\n%s", log.text())
	}
}

// Records expired for longer than the retention time are dropped when
// the file is loaded and at each compaction, from the file and memory.
func TestCacheRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.postern")
	day := 24 * time.Hour
	text := cacheHeader()
	for _, l := range []string{
		fmt.Sprintf("192.0.2.1 %d 0 0 0 0", t0.Add(-8*day).Unix()),                         // expired 8 days ago: dropped
		fmt.Sprintf("192.0.2.2 %d 0 0 0 0", t0.Add(-6*day).Unix()),                         // 6 days ago: retained
		fmt.Sprintf("192.0.2.3 %d %d 0 0 0", t0.Add(-9*day).Unix(), t0.Add(-1*day).Unix()), // the latest counts
		fmt.Sprintf("192.0.2.4 %d 0 0 0 0", t0.Add(day).Unix()),
	} {
		text = append(text, l+"\n"...)
	}
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: t0}
	log := newCacheLog()
	c := openTest(t, path, clk, log)
	defer c.Close()
	if _, ok := c.Get(netip.MustParseAddr("192.0.2.1")); ok {
		t.Error("192.0.2.1, expired 8 days ago, was loaded")
	}
	if !strings.Contains(log.text(), "full cleanup: retained=3 dropped=1 entries") {
		t.Errorf("log:\n%s", log.text())
	}
	clk.add(6*day + time.Hour) // 192.0.2.3 (latest -1d) and .2 (-6d) now past 7 days
	retained, dropped, err := c.Compact()
	if err != nil || retained != 1 || dropped != 2 {
		t.Errorf("Compact: retained %d dropped %d %v, want 1 2", retained, dropped, err)
	}
	for _, a := range []string{"192.0.2.2", "192.0.2.3"} {
		if _, ok := c.Get(netip.MustParseAddr(a)); ok {
			t.Errorf("%s still in memory after the compaction", a)
		}
	}
	b, _ := os.ReadFile(path)
	if want := string(cacheHeader()) + fmt.Sprintf("192.0.2.4 %d 0 0 0 0\n", t0.Add(day).Unix()); string(b) != want {
		t.Errorf("file after compaction:\n%s\nwant:\n%s", b, want)
	}
}

// Damaged lines (a crash cuts the last one) are skipped with one
// warning; the others load, and the rewritten file has no damage left.
func TestCacheDamagedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.postern")
	exp := t0.Add(time.Hour).Unix()
	text := string(cacheHeader()) +
		fmt.Sprintf("192.0.2.1 %d 0 0 0 0\n", exp) +
		"192.0.2.x 1 0 0 0 0\n" +
		strings.Repeat("9", 2000) + "\n" +
		fmt.Sprintf("192.0.2.2 %d 0 0 0 0\n", exp) +
		fmt.Sprintf("192.0.2.3 %d 0", exp) // cut short
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	log := newCacheLog()
	c := openTest(t, path, &clock{now: t0}, log)
	defer c.Close()
	for a, want := range map[string]bool{"192.0.2.1": true, "192.0.2.2": true, "192.0.2.3": false} {
		if _, ok := c.Get(netip.MustParseAddr(a)); ok != want {
			t.Errorf("%s loaded: %v, want %v", a, ok, want)
		}
	}
	if !strings.Contains(log.text(), "warning: postscreen_cache_map btree:") ||
		!strings.Contains(log.text(), "skipped 3 damaged of 5 records (the first at line 3: ") {
		t.Errorf("log:\n%s", log.text())
	}
	b, _ := os.ReadFile(path)
	if strings.Count(string(b), "\n") != 3 {
		t.Errorf("file after load:\n%s", b)
	}
}

// A file that is not a postern cache, or of another version, is refused
// and left as it is.
func TestCacheForeignFileRefused(t *testing.T) {
	for _, content := range []string{"\x00\x06\x15\x61btree", "postern-postscreen-cache v2 pregreet\n192.0.2.1 1\n", "postern-postscreen-cache v1 pregreet"} {
		path := filepath.Join(t.TempDir(), "c.postern")
		os.WriteFile(path, []byte(content), 0o600)
		_, err := OpenCache(CacheMap{Name: "btree:x", Path: path}, CacheOptions{})
		if err == nil {
			t.Errorf("%q: opened", content)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("%q: file changed to %q", content, b)
		}
	}
}

// A symbolic link at the cache's path is never followed, and a file of
// another user never used.
func TestCacheSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	os.WriteFile(target, []byte("precious\n"), 0o644)
	path := filepath.Join(dir, "c.postern")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	_, err := OpenCache(CacheMap{Name: "btree:x", Path: path}, CacheOptions{})
	if err == nil || !strings.Contains(err.Error(), "symbolic link: refused") {
		t.Errorf("error %v, want a refused symbolic link", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("target changed: %q", b)
	}
	if fi, _ := os.Lstat(path); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced")
	}

	if os.Geteuid() != 0 {
		t.Skip("not root: cannot make a file of another user")
	}
	other := filepath.Join(dir, "other.postern")
	os.WriteFile(other, cacheHeader(), 0o600)
	os.Chown(other, 12345, 12345)
	if _, err := OpenCache(CacheMap{Name: "btree:y", Path: other}, CacheOptions{}); err == nil || !strings.Contains(err.Error(), "owned by uid 12345") {
		t.Errorf("file of uid 12345: %v", err)
	}
	fifo := filepath.Join(dir, "fifo.postern")
	syscall.Mkfifo(fifo, 0o600)
	if _, err := OpenCache(CacheMap{Name: "btree:z", Path: fifo}, CacheOptions{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: %v", err)
	}
}

// Puts from many sessions at once, during compactions, all reach the
// file.
func TestCacheConcurrentPut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.postern")
	clk := &clock{now: t0}
	c := openTest(t, path, clk, newCacheLog())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				c.Put(netip.AddrFrom4([4]byte{10, byte(g), byte(i), 1}), Record{Pregreet: t0.Add(time.Hour)}, t0, 0)
				if i%50 == 0 {
					c.Compact()
				}
			}
		}()
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c.Put(netip.MustParseAddr("192.0.2.9"), Record{Pregreet: t0.Add(time.Hour)}, t0, 0) // after Close: memory only
	c2 := openTest(t, path, clk, newCacheLog())
	defer c2.Close()
	c2.mu.Lock()
	n := len(c2.records)
	c2.mu.Unlock()
	if n != 1600 {
		t.Errorf("%d records after reopening, want 1600", n)
	}
}

// The cleanup runs every postscreen_cache_cleanup_interval.
func TestCacheCleanupInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.postern")
	log := newCacheLog()
	c, err := OpenCache(CacheMap{Name: "btree:x", Path: path}, CacheOptions{Retention: time.Hour, Cleanup: 5 * time.Millisecond, Log: slog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for n := 0; n < 3; { // the load's, then two of the timer's
		if l := <-log.ch; strings.Contains(l, "cache btree:x full cleanup: retained=0 dropped=0 entries") {
			n++
		}
	}
}

// A nil cache (postscreen_cache_map empty) keeps nothing.
func TestNilCache(t *testing.T) {
	var c *Cache
	c.Put(netip.MustParseAddr("192.0.2.1"), Record{Pregreet: t0}, t0, 0)
	if _, ok := c.Get(netip.MustParseAddr("192.0.2.1")); ok {
		t.Error("nil cache found a record")
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	if c, err := OpenCache(CacheMap{}, CacheOptions{}); c != nil || err != nil {
		t.Errorf("OpenCache of no map: %v %v", c, err)
	}
}

// A column this version does not know is read over; a missing one is a
// test never passed.
func TestCacheColumns(t *testing.T) {
	cols, err := parseHeader("postern-postscreen-cache v1 future pregreet")
	if err != nil {
		t.Fatal(err)
	}
	a, r, err := cols.parseRecord("192.0.2.1 99 1765200000")
	if err != nil || a != netip.MustParseAddr("192.0.2.1") || r != (Record{Pregreet: time.Unix(1765200000, 0)}) {
		t.Errorf("%v %+v %v", a, r, err)
	}
	for _, h := range []string{"postern-postscreen-cache v1 a a", "postern-postscreen-cache v1 A", "postern-postscreen-cache v1  x"} {
		if _, err := parseHeader(h); err == nil {
			t.Errorf("%q accepted", h)
		}
	}
}

// BenchmarkCachePut: the connection path's cost of a Put to a cache
// with a file (the writer appends in the background).
func BenchmarkCachePut(b *testing.B) {
	c, err := OpenCache(CacheMap{Name: "btree:x", Path: filepath.Join(b.TempDir(), "c.postern")}, CacheOptions{Retention: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := Record{Pregreet: time.Now().Add(time.Hour)}
	for i := 0; b.Loop(); i++ {
		c.Put(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), r, t0, 0)
	}
}

// Every Record field has a cache file column: a field added without one
// would be lost at every restart.
func TestCacheColumnsCoverRecord(t *testing.T) {
	var r Record
	v := reflect.ValueOf(&r).Elem()
	for i := range v.NumField() {
		if v.Field(i).Type() != reflect.TypeFor[time.Time]() {
			t.Fatalf("Record.%s is not a time.Time: the cache file has columns of expiry times only", v.Type().Field(i).Name)
		}
		v.Field(i).Set(reflect.ValueOf(t0.Add(time.Duration(i+1) * time.Hour)))
	}
	line, _ := appendRecord(nil, netip.MustParseAddr("192.0.2.1"), r)
	cols, _ := parseHeader(strings.TrimSuffix(string(cacheHeader()), "\n"))
	if _, got, err := cols.parseRecord(strings.TrimSuffix(string(line), "\n")); err != nil || got != r {
		t.Errorf("Record %+v reads back as %+v %v: add its column to cacheColumns", r, got, err)
	}
}
