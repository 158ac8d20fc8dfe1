package postscreen

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// postscreen_cache_size_limit: a new client beyond the limit drops the
// record that expires first, with a warning; an update of a known
// client drops nothing; a cache loaded over the limit is trimmed.
func TestCacheSizeLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}) }
	rec := func(d time.Duration) Record { return Record{Pregreet: now.Add(d)} }
	for _, tc := range []struct {
		name    string
		put     []time.Duration // client i+1's record
		again   bool            // then client 1 again
		gone    []int
		warning bool
	}{
		{name: "under the limit", put: []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour}},
		{name: "new client over it", put: []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour, 4 * time.Hour}, gone: []int{2}, warning: true},
		{name: "known client", put: []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour}, again: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lb logBuf
			c := NewCache()
			c.SetLimit(3, slog.New(slog.NewTextHandler(&lb, nil)))
			for i, d := range tc.put {
				c.Put(addr(i+1), rec(d), now, time.Hour)
			}
			if tc.again {
				c.Put(addr(1), rec(5*time.Hour), now, time.Hour)
			}
			for i := range tc.put {
				_, ok := c.Get(addr(i + 1))
				want := true
				for _, g := range tc.gone {
					want = want && g != i+1
				}
				if ok != want {
					t.Errorf("client %d kept %v, want %v", i+1, ok, want)
				}
			}
			if got := strings.Contains(lb.String(), "postscreen_cache_size_limit 3 reached: dropped the 1 records that expire first"); got != tc.warning {
				t.Errorf("warning logged %v, want %v: %s", got, tc.warning, lb.String())
			}
		})
	}
	c := NewCache()
	for i := 1; i <= 5; i++ {
		c.Put(addr(i), rec(time.Duration(6-i)*time.Hour), now, time.Hour)
	}
	c.SetLimit(2, nil)
	for i := 1; i <= 5; i++ {
		if _, ok := c.Get(addr(i)); ok != (i <= 2) {
			t.Errorf("loaded over the limit: client %d kept %v", i, ok)
		}
	}
}
