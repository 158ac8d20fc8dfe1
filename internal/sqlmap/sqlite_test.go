package sqlmap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maps"
)

// makeSQLite creates the test database file.
func makeSQLite(t testing.TB, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range append(schema(concatPipes),
		`INSERT INTO mailbox VALUES ('back\slash@example.com', 'example.com/backslash/', 'example.com', 1)`) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestSQLiteLookups(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "postfixadmin.sqlite")
	makeSQLite(t, db)
	runLookups(t, "sqlite", tableFiles(t, dir, "dbpath = "+db, concatPipes))
}

func TestSQLiteMissingDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "missing.sqlite")
	paths := tableFiles(t, dir, "dbpath = "+db, concatPipes)
	tb, err := maps.Open("sqlite:" + paths["mailboxes"])
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close(tb)
	_, found, err := tb.Lookup("alice@example.com")
	if err == nil || found {
		t.Fatalf("lookup in a missing database: %v, %v; want an error", found, err)
	}
	if !strings.Contains(err.Error(), "sqlite:"+paths["mailboxes"]) {
		t.Errorf("error %q does not name the table", err)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("the lookup created the database file")
	}
}

// TestProxyShares: proxy: tables of the same file share one core (one
// pool); plain ones have their own; the last Close closes it.
func TestProxyShares(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db.sqlite")
	makeSQLite(t, db)
	paths := tableFiles(t, dir, "dbpath = "+db, concatPipes)
	get := func(spec string, proxied bool) *Table {
		t.Helper()
		tb, err := open(spec, proxied)
		if err != nil {
			t.Fatal(err)
		}
		return tb.(*Table)
	}
	p1 := get("proxy:sqlite:"+paths["mailboxes"], true)
	p2 := get("proxy:sqlite:"+paths["mailboxes"], true)
	d1 := get("sqlite:"+paths["mailboxes"], false)
	if p1.c != p2.c {
		t.Error("two proxy: opens of one file do not share")
	}
	if d1.c == p1.c {
		t.Error("a plain open shares the proxy's pool")
	}
	if p1.Name() != "proxy:sqlite:"+paths["mailboxes"] {
		t.Errorf("Name = %q", p1.Name())
	}
	if v, ok, err := p2.Lookup("bob@example.com"); v != "example.com/bob/" || !ok || err != nil {
		t.Errorf("lookup through proxy: %q %v %v", v, ok, err)
	}
	p1.Close()
	p1.Close() // twice: counted once
	shared.mu.Lock()
	n := shared.cores[p2.key].refs
	shared.mu.Unlock()
	if n != 1 {
		t.Errorf("refs after one close = %d", n)
	}
	p2.Close()
	shared.mu.Lock()
	_, left := shared.cores[p2.key]
	shared.mu.Unlock()
	if left {
		t.Error("the shared core outlived its last user")
	}
	d1.Close()
	// maps.Open routes proxy:sqlite: here.
	tb, err := maps.Open("proxy:sqlite:" + paths["mailboxes"])
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close(tb)
	if v, ok, err := tb.Lookup("alice@example.com"); v != "example.com/alice/" || !ok || err != nil {
		t.Errorf("maps.Open(proxy:sqlite:): %q %v %v", v, ok, err)
	}
}

// TestDroppedTableReleased: a table dropped without Close (the old
// configuration's, after a reload) closes its pool once collected.
func TestDroppedTableReleased(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db.sqlite")
	makeSQLite(t, db)
	paths := tableFiles(t, dir, "dbpath = "+db, concatPipes)
	tb, err := open("sqlite:"+paths["mailboxes"], false)
	if err != nil {
		t.Fatal(err)
	}
	lite := tb.(*Table).c.servers[0].b.(*liteBackend)
	if _, _, err := tb.Lookup("alice@example.com"); err != nil {
		t.Fatal(err)
	}
	tb = nil
	deadline := time.Now().Add(30 * time.Second)
	for lite.db.Ping() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the dropped table's database is still open")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConcurrentLookups: one table serves many sessions at once.
func TestConcurrentLookups(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db.sqlite")
	makeSQLite(t, db)
	paths := tableFiles(t, dir, "dbpath = "+db, concatPipes)
	tb, err := maps.Open("proxy:sqlite:" + paths["mailboxes"])
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close(tb)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range 16 {
		wg.Go(func() {
			for j := range 30 {
				key, want := "alice@example.com", "example.com/alice/"
				if (i+j)%2 == 1 {
					key, want = "bob@example.com", "example.com/bob/"
				}
				if v, ok, err := tb.Lookup(key); v != want || !ok || err != nil {
					errs <- fmt.Sprintf("%s: %q %v %v", key, v, ok, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// countingBackend counts the queries that reach the database.
type countingBackend struct {
	backend
	n   int
	err error
}

func (c *countingBackend) query(ctx context.Context, build func(quoter) (string, error)) ([]*string, bool, error) {
	c.n++
	if c.err != nil {
		return nil, false, c.err
	}
	return c.backend.query(ctx, build)
}

// TestCache: answers (found or not) are kept for cacheTTL, failures
// never; the cache is per table (shared by proxy: users).
func TestCache(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db.sqlite")
	makeSQLite(t, db)
	paths := tableFiles(t, dir, "dbpath = "+db, concatPipes)
	tb, err := open("sqlite:"+paths["mailboxes"], false)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.(*Table).Close()
	c := tb.(*Table).c
	cb := &countingBackend{backend: c.servers[0].b}
	c.servers[0].b = cb
	clock := time.Unix(1e9, 0)
	now = func() time.Time { return clock }
	defer func() { now = time.Now }()
	for range 3 {
		if v, ok, err := tb.Lookup("Alice@example.com"); v != "example.com/alice/" || !ok || err != nil {
			t.Fatalf("lookup: %q %v %v", v, ok, err)
		}
		if _, ok, err := tb.Lookup("nobody@example.com"); ok || err != nil {
			t.Fatalf("lookup: %v %v", ok, err)
		}
	}
	if cb.n != 2 {
		t.Errorf("%d queries for 2 keys asked 3 times each, want 2", cb.n)
	}
	clock = clock.Add(cacheTTL)
	tb.Lookup("alice@example.com")
	if cb.n != 3 {
		t.Errorf("%d queries after cacheTTL, want 3", cb.n)
	}
	cb.err = errors.New("down")
	for range 2 {
		if _, _, err := tb.Lookup("bob@example.com"); err == nil {
			t.Fatal("no error")
		}
	}
	if cb.n != 5 {
		t.Errorf("%d queries: failures must not be cached", cb.n)
	}
}

// BenchmarkSQLiteLookup: one query per iteration, then (cached) none.
func BenchmarkSQLiteLookup(b *testing.B) {
	dir := b.TempDir()
	db := filepath.Join(dir, "db.sqlite")
	makeSQLite(b, db)
	tb, err := maps.Open("sqlite:" + tableFiles(b, dir, "dbpath = "+db, concatPipes)["mailboxes"])
	if err != nil {
		b.Fatal(err)
	}
	defer maps.Close(tb)
	b.Run("query", func(b *testing.B) {
		defer func(ttl time.Duration) { cacheTTL = ttl }(cacheTTL)
		cacheTTL = 0
		for i := 0; b.Loop(); i++ {
			if _, _, err := tb.Lookup(fmt.Sprintf("user%d@example.com", i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := tb.Lookup("alice@example.com"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
