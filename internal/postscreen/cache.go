package postscreen

import (
	"net/netip"
	"sync"
	"time"
)

// Record is what the temporary allowlist keeps for one client, as the
// value of Postfix's postscreen cache: until when each test's pass
// counts. A zero time means the test was not passed (or never run).
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

// Cache is the temporary allowlist: one Record per client. It lives in
// memory, kept by the daemon across reloads.
type Cache struct {
	mu      sync.Mutex
	records map[netip.Addr]Record
	pruned  time.Time // when Put last pruned
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{records: map[netip.Addr]Record{}} }

// Get returns addr's record.
func (c *Cache) Get(addr netip.Addr) (Record, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.records[addr]
	return r, ok
}

// Put stores addr's record, and at most once a minute prunes records
// expired for longer than retention.
func (c *Cache) Put(addr netip.Addr, r Record, now time.Time, retention time.Duration) {
	c.mu.Lock()
	c.records[addr] = r
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
		if !now.Before(r.Latest().Add(retention)) {
			delete(c.records, a)
		}
	}
	return len(c.records)
}
