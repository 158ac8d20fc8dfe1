// Package anvil counts each client address's concurrent sessions per
// service: the first half of Postfix's anvil(8) server, the part behind
// smtpd_client_connection_count_limit. Unlike Postfix's anvil it runs
// inside the daemon (no separate process, no IPC per connection), so a
// connect or disconnect is one map update under a lock. Counts belong
// to the daemon, not to a configuration: they survive a reload, so a
// session that began under the old configuration still releases its
// count. Of the rates, only AUTH commands are counted
// (smtpd_client_auth_rate_limit, rate.go); the connection, message and
// recipient rates are not yet.
package anvil

import (
	"net/netip"
	"sync"
)

// Counter holds the counts. The zero value is not usable; call New.
type Counter struct {
	mu     sync.Mutex
	counts map[key]int
	rates  rates
}

type key struct {
	service string
	addr    netip.Addr
}

// New returns an empty Counter.
func New() *Counter { return &Counter{counts: map[key]int{}} }

// Connect counts a new session of addr to service and returns the
// number of sessions addr now has there, this one included (Postfix's
// anvil_clnt_connect). Every Connect must be paired with one Disconnect,
// whatever the caller then decides.
func (c *Counter) Connect(service string, addr netip.Addr) int {
	k := key{service, addr.Unmap()}
	c.mu.Lock()
	n := c.counts[k] + 1
	c.counts[k] = n
	c.mu.Unlock()
	return n
}

// Disconnect ends a session counted by Connect. An address whose count
// drops to zero is forgotten, so the map holds only connected clients.
func (c *Counter) Disconnect(service string, addr netip.Addr) {
	k := key{service, addr.Unmap()}
	c.mu.Lock()
	if n := c.counts[k] - 1; n > 0 {
		c.counts[k] = n
	} else {
		delete(c.counts, k)
	}
	c.mu.Unlock()
}

// Count returns addr's current number of sessions to service.
func (c *Counter) Count(service string, addr netip.Addr) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[key{service, addr.Unmap()}]
}

// Clients returns how many distinct (service, address) pairs are
// connected now.
func (c *Counter) Clients() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.counts)
}
