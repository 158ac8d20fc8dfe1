// Package dnscache is a bounded, concurrency-safe cache in front of a
// DNS resolver, for the mail authentication checks (SPF, DKIM key
// lookups, DMARC records), which ask the same questions for every
// message of a sender.
//
// The standard resolver does not report record TTLs, so answers are
// kept for a fixed time: positive answers for PositiveTTL, "no such
// name" and "no data" answers (negative caching) for NegativeTTL, both
// short enough to stay under the TTL a zone would normally publish.
// Temporary failures (SERVFAIL, timeouts, a cancelled context) are never
// cached: the next lookup asks again. When the cache holds MaxEntries
// answers, the least recently used is dropped. Concurrent lookups of the
// same question while it is not cached share one query.
package dnscache

import (
	"container/list"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Resolver is what the cache sits in front of (and what it offers):
// *net.Resolver satisfies it, and so does internal/spf's Resolver.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Defaults for the zero fields of Cache.
const (
	DefaultMaxEntries  = 10000
	DefaultPositiveTTL = 5 * time.Minute
	DefaultNegativeTTL = time.Minute
)

// Cache caches the answers of Upstream. Set the fields before the first
// lookup; the methods are safe for concurrent use.
type Cache struct {
	Upstream    Resolver
	MaxEntries  int           // 0: DefaultMaxEntries
	PositiveTTL time.Duration // 0: DefaultPositiveTTL
	NegativeTTL time.Duration // 0: DefaultNegativeTTL
	Now         func() time.Time

	mu      sync.Mutex
	entries map[key]*list.Element
	lru     list.List // of *entry, most recently used at the front
	flight  map[key]*call
}

// New returns a cache in front of upstream with the default limits.
func New(upstream Resolver) *Cache { return &Cache{Upstream: upstream} }

type key struct {
	kind string // "TXT", "ip4", "ip6", "ip", "MX", "PTR"
	name string // lower case, no trailing dot
}

type entry struct {
	k       key
	val     any // []string, []netip.Addr, []*net.MX
	err     error
	expires time.Time
}

// call is a lookup in progress that other callers wait for.
type call struct {
	done chan struct{}
	val  any
	err  error
}

// LookupTXT is net.Resolver.LookupTXT, cached.
func (c *Cache) LookupTXT(ctx context.Context, name string) ([]string, error) {
	v, err := c.lookup(ctx, key{"TXT", canonical(name)}, func(ctx context.Context) (any, error) {
		return c.Upstream.LookupTXT(ctx, name)
	})
	s, _ := v.([]string)
	return slices.Clone(s), err
}

// LookupNetIP is net.Resolver.LookupNetIP, cached.
func (c *Cache) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	v, err := c.lookup(ctx, key{network, canonical(host)}, func(ctx context.Context) (any, error) {
		return c.Upstream.LookupNetIP(ctx, network, host)
	})
	s, _ := v.([]netip.Addr)
	return slices.Clone(s), err
}

// LookupMX is net.Resolver.LookupMX, cached.
func (c *Cache) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	v, err := c.lookup(ctx, key{"MX", canonical(name)}, func(ctx context.Context) (any, error) {
		return c.Upstream.LookupMX(ctx, name)
	})
	s, _ := v.([]*net.MX)
	out := make([]*net.MX, len(s))
	for i, mx := range s {
		m := *mx
		out[i] = &m
	}
	if s == nil {
		out = nil
	}
	return out, err
}

// LookupAddr is net.Resolver.LookupAddr (PTR names), cached.
func (c *Cache) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	v, err := c.lookup(ctx, key{"PTR", canonical(addr)}, func(ctx context.Context) (any, error) {
		return c.Upstream.LookupAddr(ctx, addr)
	})
	s, _ := v.([]string)
	return slices.Clone(s), err
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// Len is the number of cached answers (expired ones included until they
// are looked up or pushed out).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Cache) lookup(ctx context.Context, k key, query func(context.Context) (any, error)) (any, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[key]*list.Element{}
		c.flight = map[key]*call{}
	}
	if el, ok := c.entries[k]; ok {
		e := el.Value.(*entry)
		if c.now().Before(e.expires) {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e.val, e.err
		}
		c.lru.Remove(el)
		delete(c.entries, k)
	}
	if cl, ok := c.flight[k]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.val, cl.err
		case <-ctx.Done():
			return nil, &net.DNSError{Err: ctx.Err().Error(), Name: k.name, IsTimeout: true, IsTemporary: true}
		}
	}
	cl := &call{done: make(chan struct{})}
	c.flight[k] = cl
	c.mu.Unlock()

	cl.val, cl.err = query(ctx)

	c.mu.Lock()
	delete(c.flight, k)
	if ttl, ok := c.ttl(cl.err); ok {
		c.store(&entry{k: k, val: cl.val, err: cl.err, expires: c.now().Add(ttl)})
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.val, cl.err
}

// ttl says how long an answer may be kept: not at all for a temporary
// failure or an error that is not a DNS answer.
func (c *Cache) ttl(err error) (time.Duration, bool) {
	if err == nil {
		return cmpOr(c.PositiveTTL, DefaultPositiveTTL), true
	}
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound && !de.IsTemporary && !de.IsTimeout {
		return cmpOr(c.NegativeTTL, DefaultNegativeTTL), true
	}
	return 0, false
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// store adds e (c.mu held), dropping the least recently used answers
// beyond MaxEntries.
func (c *Cache) store(e *entry) {
	if el, ok := c.entries[e.k]; ok {
		c.lru.Remove(el)
	}
	c.entries[e.k] = c.lru.PushFront(e)
	max := c.MaxEntries
	if max <= 0 {
		max = DefaultMaxEntries
	}
	for c.lru.Len() > max {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.entries, old.Value.(*entry).k)
	}
}
