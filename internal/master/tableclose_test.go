package master

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/maps"
)

// Reloads must not leave the replaced generations' hash: tables open:
// after N reloads, each followed by a session, and a garbage collection
// the process holds about as many open files as before them. (A dropped
// table's file is closed by the *os.File's own finalizer; this guards
// against anything keeping old generations' tables reachable.)
func TestReloadDropsOldTables(t *testing.T) {
	dir := t.TempDir()
	tbl := filepath.Join(dir, "access")
	os.WriteFile(tbl, []byte("192.0.2.1 REJECT\nexample.com OK\n"), 0o644)
	if _, err := maps.Build(tbl, "hash:"+tbl); err != nil {
		t.Fatal(err)
	}
	td := startDaemon(t, dir, fmt.Sprintf("mynetworks = 127.0.0.0/8\nsmtpd_recipient_restrictions = permit_mynetworks, reject\nsmtpd_client_restrictions = check_client_access hash:%s\ntransport_maps = hash:%s\nalias_maps = hash:%s\n", tbl, tbl, tbl))
	d, port := td.Daemon, td.port
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("cannot count open files: %v", err)
		}
		return len(ents)
	}
	if err := d.Reload(context.Background()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	runtime.GC()
	before := fds()
	const n = 20
	for range n {
		if err := d.Reload(context.Background()); err != nil {
			t.Fatalf("reload: %v", err)
		}
		// A session uses (and then retires) each generation's tables.
		s := dialSMTP(t, port)
		s.transaction(t)
		s.quit(t)
	}
	t.Logf("before %d, after %d reloads without GC %d", before, n, fds())
	deadline := time.Now().Add(60 * time.Second)
	for {
		runtime.GC()
		now := fds()
		if now < before+n/2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d open files after %d reloads, %d before", now, n, before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
