package smtp

import (
	"sync"
	"time"
)

// cache keeps idle sessions by next hop (Postfix's scache by destination
// label), each for at most ttl, at most max in all. The most recently
// used session is handed out first so that the others can expire.
type cache struct {
	mu     sync.Mutex
	idle   map[string][]*idle
	n      int
	max    int
	ttl    time.Duration
	quit   func(*session)
	closed bool
}

type idle struct {
	s     *session
	timer *time.Timer
}

func newCache(max int, ttl time.Duration, quit func(*session)) *cache {
	return &cache{idle: map[string][]*idle{}, max: max, ttl: ttl, quit: quit}
}

// put stores s under key, or ends it when the cache is full or closed.
func (c *cache) put(key string, s *session) {
	c.mu.Lock()
	if c.closed || c.n >= c.max {
		c.mu.Unlock()
		c.quit(s)
		return
	}
	e := &idle{s: s}
	e.timer = time.AfterFunc(c.ttl, func() { c.expire(key, e) })
	c.idle[key] = append(c.idle[key], e)
	c.n++
	c.mu.Unlock()
}

// get takes an idle session for key, or returns nil.
func (c *cache) get(key string) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.idle[key]
	for len(list) > 0 {
		e := list[len(list)-1]
		list = list[:len(list)-1]
		c.n--
		if e.timer.Stop() {
			c.store(key, list)
			return e.s
		}
		// The timer fired: expire, waiting for the lock, ends this one.
	}
	c.store(key, list)
	return nil
}

func (c *cache) store(key string, list []*idle) {
	if len(list) == 0 {
		delete(c.idle, key)
	} else {
		c.idle[key] = list
	}
}

func (c *cache) expire(key string, e *idle) {
	c.mu.Lock()
	list := c.idle[key]
	for i, x := range list {
		if x == e {
			c.store(key, append(list[:i:i], list[i+1:]...))
			c.n--
			break
		}
	}
	c.mu.Unlock()
	c.quit(e.s)
}

// close ends every idle session and refuses new ones.
func (c *cache) close() {
	c.mu.Lock()
	c.closed = true
	var all []*idle
	for _, list := range c.idle {
		all = append(all, list...)
	}
	c.idle = map[string][]*idle{}
	c.n = 0
	c.mu.Unlock()
	for _, e := range all {
		if e.timer.Stop() {
			c.quit(e.s)
		}
	}
}

// size is the number of idle sessions.
func (c *cache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
