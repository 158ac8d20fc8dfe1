package postscreen

import (
	"net/netip"
	"sync"
)

// conns counts the connections a postscreen service has in hand (from
// CONNECT until handed to smtpd or closed), as Postfix's postscreen
// process does for postscreen_client_connection_count_limit (per client
// address) and postscreen_pre_queue_limit (all of them, until Check
// returns; the clients that then wait for a slot of smtpd, Postfix's
// post queue, are the daemon's count: Screen.PostQueue). A reload
// starts a new count, as a new postscreen process does.
type conns struct {
	mu     sync.Mutex
	client map[netip.Addr]int
	total  int
}

func newConns() *conns { return &conns{client: map[netip.Addr]int{}} }

// enter counts a new connection from addr and returns the client's and
// the service's counts with it.
func (c *conns) enter(addr netip.Addr) (client, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.client[addr]++
	c.total++
	return c.client[addr], c.total
}

// leave uncounts a connection from addr.
func (c *conns) leave(addr netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.client[addr]--; c.client[addr] <= 0 {
		delete(c.client, addr)
	}
}
