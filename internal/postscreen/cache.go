package postscreen

import (
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Record is what the temporary allowlist keeps for one client, as the
// value of Postfix's postscreen cache: until when each test's pass
// counts. A zero time means the test was not passed (or never run).
// A new field needs a column in the cache file (cacheColumns).
type Record struct {
	Pregreet    time.Time // postscreen_greet_ttl after a pass
	DNSBL       time.Time // postscreen_dnsbl_min_ttl..max_ttl after a pass
	Pipelining  time.Time // postscreen_pipelining_ttl
	NonSMTP     time.Time // postscreen_non_smtp_command_ttl
	BareNewline time.Time // postscreen_bare_newline_ttl
}

// Latest is the last of the record's expiry times: the record is useless
// once that is past (plus postscreen_cache_retention_time).
func (r Record) Latest() time.Time {
	l := r.Pregreet
	for _, t := range []time.Time{r.DNSBL, r.Pipelining, r.NonSMTP, r.BareNewline} {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// expired reports whether r is to be dropped at now: every pass it
// holds expired at least retention ago (Postfix: "a cache entry is
// expired when the time stamps of all passed tests are expired").
func (r Record) expired(now time.Time, retention time.Duration) bool {
	return !now.Before(r.Latest().Add(retention))
}

// Cache is the temporary allowlist: one Record per client. Lookups and
// updates are in memory only; a cache from OpenCache also keeps its
// records in a file (cachemap.go). A nil *Cache is no cache (an empty
// postscreen_cache_map): nothing is found, nothing kept.
type Cache struct {
	mu      sync.Mutex
	records map[netip.Addr]Record
	pruned  time.Time // when Put last pruned (a cache without a file)
	disk    *diskState
	// limit bounds len(records) (cachelimit.go); 0: none.
	limit    int
	limitLog *slog.Logger
}

// NewCache returns an empty cache kept in memory only.
func NewCache() *Cache { return &Cache{records: map[netip.Addr]Record{}} }

// Get returns addr's record.
func (c *Cache) Get(addr netip.Addr) (Record, bool) {
	if c == nil {
		return Record{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.records[addr]
	return r, ok
}

// Put stores addr's record. A cache with a file queues the record for
// its writer (never touching the disk itself) and is pruned by its
// cleanup (postscreen_cache_cleanup_interval); one in memory only is
// pruned here, at most once a minute, of records expired for longer
// than retention.
func (c *Cache) Put(addr netip.Addr, r Record, now time.Time, retention time.Duration) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if _, ok := c.records[addr]; !ok {
		c.makeRoom()
	}
	c.records[addr] = r
	if c.disk != nil {
		c.disk.queue(addr, r)
		c.mu.Unlock()
		return
	}
	prune := now.Sub(c.pruned) >= time.Minute
	c.mu.Unlock()
	if prune {
		c.Prune(now, retention)
	}
}

// Prune drops records expired for longer than retention
// (postscreen_cache_retention_time), and returns how many are left.
func (c *Cache) Prune(now time.Time, retention time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruned = now
	for a, r := range c.records {
		if r.expired(now, retention) {
			delete(c.records, a)
		}
	}
	return len(c.records)
}
