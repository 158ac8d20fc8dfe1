package anvil

import "time"

// Event is a kind of client event whose rate is counted.
type Event int

// The events, with Postfix's anvil request names in mind: connect,
// mail, rcpt, newtls, auth.
const (
	Conn Event = iota
	Mail
	Rcpt
	NewTLS
	Auth
	numEvents
)

// lookup returns cl's state, made if new; it sweeps, at most once per
// unit, the clients with no session whose window has ended, so the map
// holds only the clients of the last unit or two and those connected.
// c.mu is held.
func (c *Counter) lookup(cl Client, now time.Time, unit time.Duration) *remote {
	if now.Sub(c.lastSweep) > unit {
		for k, r := range c.remotes {
			if r.count == 0 && now.Sub(r.start) > unit {
				delete(c.remotes, k)
			}
		}
		c.lastSweep = now
	}
	r := c.remotes[cl]
	if r == nil {
		r = &remote{start: now}
		c.remotes[cl] = r
		c.peaks.cache(len(c.remotes), now)
	}
	return r
}

// incr counts one event in r's window, starting a new window first if
// the current one ended (Postfix's ANVIL_REMOTE_INCR_RATE: every rate
// of the client restarts at zero).
func (r *remote) incr(e Event, now time.Time, unit time.Duration) int {
	r.expire(now, unit)
	r.rate[e]++
	return r.rate[e]
}

func (r *remote) expire(now time.Time, unit time.Duration) {
	if now.Sub(r.start) > unit {
		r.rate = [numEvents]int{}
		r.start = now
	}
}

// Event counts one event e of cl at now and returns the number of such
// events in cl's current window of length unit, this one included
// (Postfix's anvil_clnt_mail, _rcpt, _newtls and _auth).
func (c *Counter) Event(cl Client, e Event, now time.Time, unit time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.lookup(cl, now, unit).incr(e, now, unit)
	c.peaks.update(e, n, cl, now)
	return n
}

// Rate returns the number of events e of cl in its current window,
// counting nothing (Postfix's anvil_clnt_newtls_stat).
func (c *Counter) Rate(cl Client, e Event, now time.Time, unit time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.remotes[cl]
	if r == nil {
		return 0
	}
	r.expire(now, unit)
	return r.rate[e]
}
