package postscreen

import (
	"net/netip"
	"sync"
	"time"
)

// Cache is the temporary allowlist: when each client that passed the
// pregreet test stops being trusted. It lives in memory, kept by the
// daemon across reloads.
type Cache struct {
	mu      sync.Mutex
	expires map[netip.Addr]time.Time
	pruned  time.Time // when Add last pruned
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{expires: map[netip.Addr]time.Time{}} }

// Passed reports whether addr is on the allowlist at now.
func (c *Cache) Passed(addr netip.Addr, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.expires[addr]
	return ok && now.Before(t)
}

// Add allowlists addr until now+ttl, and at most once a minute prunes
// entries expired for longer than retention.
func (c *Cache) Add(addr netip.Addr, now time.Time, ttl, retention time.Duration) {
	c.mu.Lock()
	c.expires[addr] = now.Add(ttl)
	prune := now.Sub(c.pruned) >= time.Minute
	c.mu.Unlock()
	if prune {
		c.Prune(now, retention)
	}
}

// Prune drops entries expired for longer than retention
// (postscreen_cache_retention_time), and returns how many are left.
func (c *Cache) Prune(now time.Time, retention time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pruned = now
	for a, t := range c.expires {
		if !now.Before(t.Add(retention)) {
			delete(c.expires, a)
		}
	}
	return len(c.expires)
}
