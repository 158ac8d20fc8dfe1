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
// cached: the next lookup asks again.
//
// The cache is bounded in bytes (MaxBytes, each answer counted with its
// names and strings: a TXT answer over TCP can be near 64 KiB, and the
// names asked come from the senders) and in answers (MaxEntries): the
// least recently used answers are dropped to stay under both; an answer
// larger than MaxAnswerBytes is not cached at all.
//
// Concurrent lookups of the same question while it is not cached share
// one query, which runs under its own deadline (QueryTimeout), detached
// from the caller that started it: a caller that gives up (its session
// ended) returns at once without failing the others waiting.
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
	DefaultMaxBytes    = 4 << 20
	DefaultPositiveTTL = 5 * time.Minute
	DefaultNegativeTTL = time.Minute
	// DefaultQueryTimeout bounds a shared query, as internal/spf's
	// DefaultLookupTimeout bounds one lookup.
	DefaultQueryTimeout = 5 * time.Second
)

// entryOverhead is what an answer costs beyond its names and strings:
// the entry, its list element and map slot.
const entryOverhead = 200

// Cache caches the answers of Upstream. Set the fields before the first
// lookup; the methods are safe for concurrent use.
type Cache struct {
	Upstream   Resolver
	MaxEntries int // 0: DefaultMaxEntries
	MaxBytes   int // 0: DefaultMaxBytes
	// MaxAnswerBytes: a larger answer is not cached; 0: MaxBytes/256
	// (16 KiB by default).
	MaxAnswerBytes int
	PositiveTTL    time.Duration // 0: DefaultPositiveTTL
	NegativeTTL    time.Duration // 0: DefaultNegativeTTL
	QueryTimeout   time.Duration // 0: DefaultQueryTimeout
	Now            func() time.Time

	mu      sync.Mutex
	entries map[key]*list.Element
	lru     list.List // of *entry, most recently used at the front
	bytes   int       // the sizes of the entries in lru
	flight  map[key]*call
	joined  func() // test hook: a lookup joined a query in flight
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
	size    int // answerSize
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

// Bytes is the size of the cached answers as the byte budget counts it.
func (c *Cache) Bytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Cache) lookup(ctx context.Context, k key, query func(context.Context) (any, error)) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, gaveUp(k, err)
	}
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
		c.remove(el)
	}
	cl, ok := c.flight[k]
	if !ok {
		cl = &call{done: make(chan struct{})}
		c.flight[k] = cl
		go c.run(context.WithoutCancel(ctx), k, cl, query)
	}
	joined := c.joined
	c.mu.Unlock()
	if ok && joined != nil {
		joined()
	}
	select {
	case <-cl.done:
		return cl.val, cl.err
	case <-ctx.Done():
		return nil, gaveUp(k, ctx.Err())
	}
}

// gaveUp is the error of a caller whose context ended first.
func gaveUp(k key, err error) error {
	return &net.DNSError{Err: err.Error(), Name: k.name, IsTimeout: true, IsTemporary: true}
}

// run is the shared query of cl, under its own deadline (ctx carries
// the first caller's values, not its cancellation); it stores the
// answer and wakes the callers waiting.
func (c *Cache) run(ctx context.Context, k key, cl *call, query func(context.Context) (any, error)) {
	ctx, cancel := context.WithTimeout(ctx, cmpOr(c.QueryTimeout, DefaultQueryTimeout))
	defer cancel()
	cl.val, cl.err = query(ctx)

	c.mu.Lock()
	delete(c.flight, k)
	if ttl, ok := c.ttl(cl.err); ok {
		c.store(&entry{k: k, val: cl.val, err: cl.err, expires: c.now().Add(ttl), size: answerSize(k, cl.val, cl.err)})
	}
	c.mu.Unlock()
	close(cl.done)
}

// answerSize is what an answer costs in the byte budget: its strings
// and names, and entryOverhead.
func answerSize(k key, val any, err error) int {
	n := entryOverhead + len(k.name)
	switch v := val.(type) {
	case []string:
		for _, s := range v {
			n += len(s) + 16
		}
	case []netip.Addr:
		n += 24 * len(v)
	case []*net.MX:
		for _, mx := range v {
			n += len(mx.Host) + 32
		}
	}
	if err != nil {
		n += len(err.Error()) + 64
	}
	return n
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
// beyond MaxEntries and MaxBytes; an answer over MaxAnswerBytes is not
// kept.
func (c *Cache) store(e *entry) {
	maxBytes := c.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	maxAnswer := c.MaxAnswerBytes
	if maxAnswer <= 0 {
		maxAnswer = maxBytes / 256
	}
	if el, ok := c.entries[e.k]; ok {
		c.remove(el)
	}
	if e.size > maxAnswer || e.size > maxBytes {
		return
	}
	c.entries[e.k] = c.lru.PushFront(e)
	c.bytes += e.size
	maxEntries := c.MaxEntries
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	for c.lru.Len() > maxEntries || c.bytes > maxBytes {
		c.remove(c.lru.Back())
	}
}

// remove drops an entry (c.mu held).
func (c *Cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*entry)
	delete(c.entries, e.k)
	c.bytes -= e.size
}
