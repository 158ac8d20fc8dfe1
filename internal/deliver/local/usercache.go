package local

import (
	"sync"
	"time"
)

// userCache keeps the users the system's database found for a moment:
// a message for many local users, delivered in parallel, would otherwise
// read /etc/passwd (getpwnam) once per recipient, some 7 % of the
// daemon's CPU with 50 recipients per message. Only users found are
// kept, for ttl: a new user is seen at once, a removed or changed one
// within ttl (Postfix's local keeps its getpwnam results in a cache of
// its own too, mypwd.c, for the life of a reference).
type userCache struct {
	Users // LookupID passes through
	ttl   time.Duration
	now   func() time.Time

	mu     sync.Mutex
	byName map[string]cachedUser
}

type cachedUser struct {
	u  User
	at time.Time
}

// userCacheTTL is how long a user found stays known; userCacheMax bounds
// the entries (the cache starts over when full).
const (
	userCacheTTL = time.Second
	userCacheMax = 4096
)

func newUserCache(u Users) *userCache {
	return &userCache{Users: u, ttl: userCacheTTL, now: time.Now, byName: map[string]cachedUser{}}
}

// Lookup finds a user by name, from the cache when it was found less
// than ttl ago.
func (c *userCache) Lookup(name string) (*User, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.byName[name]
	c.mu.Unlock()
	if ok && !now.Before(e.at) && now.Sub(e.at) < c.ttl {
		u := e.u
		return &u, nil
	}
	u, err := c.Users.Lookup(name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.byName) >= userCacheMax {
		clear(c.byName)
	}
	c.byName[name] = cachedUser{*u, now}
	c.mu.Unlock()
	return u, nil
}
