package maps

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(ents)
}

// TestDroppedCDBTablesClose opens many cdb tables and drops them without
// Close, as a reload drops the old configuration's tables: their files
// must be closed once they are garbage collected.
func TestDroppedCDBTablesClose(t *testing.T) {
	name := filepath.Join(t.TempDir(), "access")
	if err := os.WriteFile(name+cdbSuffix, buildCDB(t, [2]string{"k", "v"}), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 200
	before := openFDs(t)
	for range n {
		tbl, err := Open("hash:" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := tbl.Lookup("k"); err != nil || !ok {
			t.Fatalf("lookup: %v %v", ok, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		runtime.GC()
		now := openFDs(t)
		if now < before+n/2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d dropped tables left %d files open (%d before)", n, now, before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
