package anvil

import (
	"net/netip"
	"time"
)

// rates are the per-client event rates of Postfix's anvil: each client
// (service and address) has a window that starts at its first event and
// lasts anvil_rate_time_unit; the first event after the window ends
// starts a new one at zero. Only AUTH commands are counted so far
// (smtpd_client_auth_rate_limit).
type rates struct {
	windows   map[key]*window
	lastSweep time.Time
}

type window struct {
	start time.Time
	auth  int
}

// Auth counts an AUTH command of addr to service at now and returns the
// number of AUTH commands in the client's current window of length unit,
// this one included (Postfix's anvil_clnt_auth).
func (c *Counter) Auth(service string, addr netip.Addr, now time.Time, unit time.Duration) int {
	k := key{service, addr.Unmap()}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &c.rates
	if r.windows == nil {
		r.windows = map[key]*window{}
	}
	// Forget the windows that ended, at most once per unit: the map
	// holds only the clients of the last unit or two.
	if now.Sub(r.lastSweep) > unit {
		for k, w := range r.windows {
			if now.Sub(w.start) > unit {
				delete(r.windows, k)
			}
		}
		r.lastSweep = now
	}
	w := r.windows[k]
	if w == nil || now.Sub(w.start) > unit {
		w = &window{start: now}
		r.windows[k] = w
	}
	w.auth++
	return w.auth
}

// RateClients returns how many clients have a rate window open.
func (c *Counter) RateClients() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.rates.windows)
}
