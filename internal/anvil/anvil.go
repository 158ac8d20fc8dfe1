// Package anvil keeps each client's session count and event rates per
// service, as Postfix's anvil(8) server does, for the smtpd limits
// smtpd_client_connection_count_limit, smtpd_client_connection_rate_limit,
// smtpd_client_message_rate_limit, smtpd_client_recipient_rate_limit,
// smtpd_client_new_tls_session_rate_limit and smtpd_client_auth_rate_limit.
// Unlike Postfix's anvil it runs inside the daemon (no separate process,
// no IPC per event), so an event is one map update under a lock. Counts
// belong to the daemon, not to a configuration: they survive a reload,
// so a session that began under the old configuration still releases
// its count.
//
// A client is a service and an address; an IPv6 address is reduced to
// its prefix (postern's anvil_ipv6_prefix_length, /64 by default: see
// NewClient), so one host cannot evade the limits by rotating through
// the addresses of its network. All rates of a client share one window
// (rate.go) that starts at its first event and lasts anvil_rate_time_unit,
// and the peaks are logged as Postfix's anvil logs them (stats.go).
package anvil

import (
	"net/netip"
	"sync"
	"time"
)

// Client is whom counts are kept for: a service and an address or, for
// IPv6, a network prefix.
type Client struct {
	Service string
	Net     netip.Prefix
}

// NewClient returns addr's client of service: an IPv4 (or IPv4-mapped)
// address as itself, an IPv6 address reduced to its first ipv6Bits bits
// (0 < ipv6Bits <= 128; anything else counts the full address).
func NewClient(service string, addr netip.Addr, ipv6Bits int) Client {
	addr = addr.Unmap()
	bits := addr.BitLen()
	if addr.Is6() && ipv6Bits > 0 && ipv6Bits < 128 {
		bits = ipv6Bits
	}
	p, err := addr.Prefix(bits)
	if err != nil { // an invalid address: counted as itself
		p = netip.PrefixFrom(addr, bits)
	}
	return Client{Service: service, Net: p}
}

// String is the client as the statistics log it: Postfix's
// "service:addr", with "/bits" for an IPv6 prefix.
func (c Client) String() string {
	if c.Net.IsSingleIP() {
		return c.Service + ":" + c.Net.Addr().String()
	}
	return c.Service + ":" + c.Net.String()
}

// Counter holds the counts. The zero value is not usable; call New.
type Counter struct {
	mu        sync.Mutex
	remotes   map[Client]*remote
	lastSweep time.Time
	peaks     peaks
}

// remote is one client's state: its sessions now and its events in
// the current window.
type remote struct {
	count int
	start time.Time // the window's start
	rate  [numEvents]int
}

// New returns an empty Counter.
func New() *Counter { return &Counter{remotes: map[Client]*remote{}} }

// Connect counts a new session of cl at now and returns the number of
// sessions cl now has, this one included, and its connections in the
// current window of length unit (Postfix's anvil_clnt_connect). Every
// Connect must be paired with one Disconnect, whatever the caller then
// decides.
func (c *Counter) Connect(cl Client, now time.Time, unit time.Duration) (count, rate int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.lookup(cl, now, unit)
	r.count++
	rate = r.incr(Conn, now, unit)
	c.peaks.update(Conn, rate, cl, now)
	c.peaks.update(numEvents, r.count, cl, now) // the count's peak
	return r.count, rate
}

// Disconnect ends a session counted by Connect. A client with no
// session left is forgotten once its window has ended too.
func (c *Counter) Disconnect(cl Client) {
	c.mu.Lock()
	if r := c.remotes[cl]; r != nil && r.count > 0 {
		r.count--
	}
	c.mu.Unlock()
}

// Count returns cl's current number of sessions.
func (c *Counter) Count(cl Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.remotes[cl]; r != nil {
		return r.count
	}
	return 0
}

// Clients returns how many clients are known now: connected, or with
// a window not yet swept.
func (c *Counter) Clients() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.remotes)
}
