package postscreen

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"
)

// DefaultCacheLimit is postscreen_cache_size_limit's default (a
// postern-only parameter): the records a cache holds at most. Postfix's
// cache has no bound; postern's is in memory, and every client that
// waits out the greet wait adds one, an IPv6 client rotating through
// its /64 a new one per connection.
const DefaultCacheLimit = 1_000_000

// SetLimit bounds the cache to limit records (0: no bound). Beyond, the
// records that expire first are dropped, and logged on log (nil: not
// logged). A cache loaded over the limit is trimmed now.
func (c *Cache) SetLimit(limit int, log *slog.Logger) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit, c.limitLog = limit, log
	if limit > 0 && len(c.records) > limit {
		c.evict(len(c.records) - limit)
	}
}

// makeRoom drops records, the earliest expiring first, when a new one
// would take the cache over its limit (under c.mu): a hundredth of the
// limit at a time, so that the scan is rare.
func (c *Cache) makeRoom() {
	if c.limit <= 0 || len(c.records) < c.limit {
		return
	}
	c.evict(len(c.records) - c.limit + max(1, c.limit/100))
}

// evict drops the n records that expire first (under c.mu) and logs it.
func (c *Cache) evict(n int) {
	type entry struct {
		addr netip.Addr
		at   time.Time
	}
	all := make([]entry, 0, len(c.records))
	for a, r := range c.records {
		all = append(all, entry{a, r.Latest()})
	}
	slices.SortFunc(all, func(x, y entry) int { return x.at.Compare(y.at) })
	n = min(n, len(all))
	for _, e := range all[:n] {
		delete(c.records, e.addr)
	}
	if c.limitLog != nil && n > 0 {
		c.limitLog.Warn(fmt.Sprintf("postscreen_cache_map %s: postscreen_cache_size_limit %d reached: dropped the %d records that expire first (up to %s): those clients are tested again",
			c.name(), c.limit, n, all[n-1].at.UTC().Format(time.RFC3339)))
	}
}

func (c *Cache) name() string {
	if c.disk == nil {
		return "(memory)"
	}
	return c.disk.m.Name
}
