package queue

import (
	"sort"
	"testing"
	"time"
)

func TestNewIDSortsAndRoundTrips(t *testing.T) {
	// After any ID handed out so far: the ID clock is shared and never
	// goes back, and the test may run more than once.
	idClock.Lock()
	base := time.UnixMicro(idClock.last).Add(24 * time.Hour).Truncate(time.Second).Add(123456 * time.Microsecond)
	idClock.Unlock()
	var ids []string
	for i := 0; i < 1000; i++ {
		ids = append(ids, newID(base, 4242)) // same instant: still unique
	}
	ids = append(ids, newID(base.Add(time.Hour), 4242))
	if !sort.StringsAreSorted(ids) {
		t.Fatalf("IDs do not sort by time: %v", ids[:3])
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate ID %s", id)
		}
		seen[id] = true
		if !ValidID(id) {
			t.Fatalf("ValidID(%q) = false", id)
		}
	}
	got, ok := IDTime(ids[0])
	if !ok || got.Unix() != base.Unix() || got.Nanosecond()/1000 < 123456 {
		t.Fatalf("IDTime(%s) = %v, %v; want about %v", ids[0], got, ok, base)
	}
	if len(ids[0]) < 12 || ids[0][10] != 'z' {
		t.Fatalf("ID %q does not have Postfix's long shape", ids[0])
	}
}

func TestValidIDRefusesPaths(t *testing.T) {
	for _, id := range []string{"", "../../etc/x", "4Zx1BC2Dz/../", "ABCDEFGHIJzK", "0000000000z"} {
		if ValidID(id) {
			t.Errorf("ValidID(%q) = true", id)
		}
	}
}
