package sendlimit

import (
	"sync"
	"time"
)

// Counter counts each key's messages and recipients in fixed windows,
// one per rule: a window opens at the first event it counts and lasts
// the rule's Per. It is safe for concurrent use; Now is its clock
// (time.Now when nil), injectable for tests.
type Counter struct {
	Now func() time.Time

	mu    sync.Mutex
	win   map[winKey]*window
	since int // insertions since the last sweep
}

type winKey struct {
	key  string
	rule Rule
}

type window struct {
	start time.Time
	n     int
}

// sweepEvery is how many new windows are opened between two sweeps of
// the expired ones.
const sweepEvery = 1024

func (c *Counter) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Take counts msgs messages and rcpts recipients of key against
// rules, all or nothing: if any rule would go over its Max, nothing is
// counted and Take returns that rule and false; otherwise every rule
// counts its kind (rules of a kind counted 0 times are left alone) and
// Take returns true. More than a rule's Max at once is always over it.
func (c *Counter) Take(key string, msgs, rcpts int, rules []Rule) (Rule, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.win == nil {
		c.win = map[winKey]*window{}
	}
	for _, r := range rules {
		n := r.of(msgs, rcpts)
		if n == 0 {
			continue
		}
		if n > r.Max {
			return r, false
		}
		w := c.win[winKey{key, r}]
		if w != nil && now.Before(w.start.Add(r.Per)) && w.n+n > r.Max {
			return r, false
		}
	}
	for _, r := range rules {
		n := r.of(msgs, rcpts)
		if n == 0 {
			continue
		}
		k := winKey{key, r}
		w := c.win[k]
		switch {
		case w == nil:
			c.win[k] = &window{start: now, n: n}
			c.sweep(now)
		case !now.Before(w.start.Add(r.Per)):
			w.start, w.n = now, n
		default:
			w.n += n
		}
	}
	return Rule{}, true
}

// of is the count of r's kind: rcpts for a recipient rule, else msgs.
func (r Rule) of(msgs, rcpts int) int {
	if r.Rcpt {
		return rcpts
	}
	return msgs
}

// sweep drops expired windows now and then, so the map holds only the
// senders of the longest window.
func (c *Counter) sweep(now time.Time) {
	if c.since++; c.since < sweepEvery {
		return
	}
	c.since = 0
	for k, w := range c.win {
		if !now.Before(w.start.Add(k.rule.Per)) {
			delete(c.win, k)
		}
	}
}

// Len is the number of open windows (for tests).
func (c *Counter) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.win)
}
