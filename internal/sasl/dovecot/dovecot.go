// Package dovecot is a client of Dovecot's authentication protocol
// (version 1, the "auth client" socket: service auth { unix_listener
// ... }), the sasl.Authenticator behind smtpd_sasl_type = dovecot. It
// is written from Dovecot's protocol documentation.
//
// One connection carries every exchange at once, each under its own
// request id (the protocol's design: Dovecot's own login processes do
// the same); a reader goroutine hands each reply to its exchange.
// Against Dovecot 2.3 (PLAIN, 20 exchanges at once, 2 CPUs) that is
// 24 µs per exchange, against 127 µs with a connection (and handshake)
// per exchange (BenchmarkRealShared, BenchmarkRealPerExchange). An
// exchange abandoned mid-way (the client gave up) must be closed
// (sasl.Exchange.Close): Close sends CANCEL, since Dovecot never times
// out a request left waiting for the client's next response and holds
// about 6 KB of its auth process for each. At most MaxPending requests
// are in progress on the connection; beyond, a new exchange is a
// temporary failure.
//
// A broken connection fails only the exchanges in progress on it; the
// next one reconnects, and a first request that met a connection that
// had died while idle is retried once on a new one. Every read and
// write has a deadline (Timeout, ReplyTimeout, or ctx's if sooner): a
// slow or dead Dovecot is a temporary failure (an error from Next),
// never a hang. The connection is closed after IdleTimeout without an
// exchange in progress. What the server sends is bounded too: a line
// at 64 KiB, the handshake at 64 mechanisms and 64 KiB in all (a
// hostile server behind inet: cannot grow the client's memory); beyond
// is a handshake error, a temporary failure.
//
// FAIL is a failed authentication (Step.Reason is Dovecot's reason=,
// often empty: Dovecot does not say whether the user exists); FAIL with
// temp, and any protocol error, is a temporary failure.
//
// Everything sent is tab-escaped (user names travel inside the base64
// SASL data, which cannot hold a TAB or LF either), so a client cannot
// inject protocol fields or commands.
package dovecot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/postern-mta/postern/internal/sasl"
)

// DefaultTimeout bounds connecting, the handshake and each write
// (Postfix's AUTH_TIMEOUT).
const DefaultTimeout = 10 * time.Second

// DefaultReplyTimeout bounds the wait for each reply: longer than
// Dovecot's delays of failures (auth_failure_delay, 2 s, plus the auth
// penalty, at most 15 s), so that a slowed-down wrong password is
// still a failure and not a temporary error.
const DefaultReplyTimeout = 30 * time.Second

// DefaultIdleTimeout closes a connection no exchange uses. Short on
// purpose: Dovecot's auth process does not exit (and `dovecot stop`
// waits, up to 30 s) while a client stays connected, and reconnecting
// costs one round trip.
const DefaultIdleTimeout = 10 * time.Second

// DefaultMaxPending bounds the authentication requests in progress on
// the shared connection. Each holds memory in Dovecot's auth process
// (which serves IMAP too) until it ends; an SMTP session has at most
// one, so the bound is only reached by that many sessions in the middle
// of AUTH at once. Beyond it a new AUTH is answered 454 at once rather
// than queued: waiting would hold sessions (and their connections)
// behind an overload or an attack, where 454 tells the client to retry.
const DefaultMaxPending = 1000

// Client talks to one Dovecot auth socket. It is safe for concurrent use.
type Client struct {
	network, address string
	// Service is Dovecot's service= (smtpd_sasl_service); when empty,
	// the sasl.Client's Service is sent.
	Service string
	// Timeout bounds connecting, the handshake and each write.
	// ReplyTimeout bounds each wait for a reply; a connection on which
	// nothing arrived for that long, when a reply is overdue, is
	// closed as hung. ctx's deadline, if sooner, wins over both (and
	// a shorter wait never closes the connection: Dovecot delays
	// failures on purpose).
	Timeout      time.Duration
	ReplyTimeout time.Duration
	IdleTimeout  time.Duration // ≤ 0: never closed while idle
	// MaxPending bounds the requests in progress on the connection
	// (DefaultMaxPending when 0, no bound when < 0); beyond, a new
	// exchange fails at once as temporary (454).
	MaxPending int

	mu     sync.Mutex
	cur    *conn
	closed bool
	dialMu chan struct{} // one dial at a time; waiting honours ctx

	dialFailed time.Time // when the last dial failed, and why
	dialErr    error
}

// New returns a client of the auth socket at address on network
// ("unix" or "tcp"). It connects on first use.
func New(network, address, service string) *Client {
	if service == "" {
		service = "smtp"
	}
	return &Client{network: network, address: address, Service: service, Timeout: DefaultTimeout,
		ReplyTimeout: DefaultReplyTimeout, IdleTimeout: DefaultIdleTimeout, dialMu: make(chan struct{}, 1)}
}

// ParsePath reads smtpd_sasl_path for Dovecot: "inet:host:port", or a
// unix socket as "unix:path", an absolute path, or a path relative to
// queueDir (Postfix's private/auth).
func ParsePath(path, queueDir string) (network, address string, err error) {
	switch {
	case path == "":
		return "", "", errors.New("empty path")
	case strings.HasPrefix(path, "inet:"):
		hp := strings.TrimPrefix(path, "inet:")
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" || port == "" {
			return "", "", fmt.Errorf("%q: want inet:host:port", path)
		}
		return "tcp", hp, nil
	case strings.HasPrefix(path, "unix:"):
		path = strings.TrimPrefix(path, "unix:")
		if path == "" {
			return "", "", errors.New("unix: without a path")
		}
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(queueDir, path)
	}
	return "unix", path, nil
}

// String names the socket for messages.
func (c *Client) String() string {
	if c.network == "tcp" {
		return "inet:" + c.address
	}
	return c.address
}

func (c *Client) errorf(format string, args ...any) error {
	return fmt.Errorf("dovecot auth %s: %w", c, fmt.Errorf(format, args...))
}

// conn returns the live connection, dialling one if there is none.
func (c *Client) conn(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	cur, closed := c.cur, c.closed
	c.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	if cur != nil && cur.broken() == nil {
		return cur, nil
	}
	waiting := time.Now()
	select {
	case c.dialMu <- struct{}{}:
		defer func() { <-c.dialMu }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	cur, failed, failure := c.cur, c.dialFailed, c.dialErr
	c.mu.Unlock()
	if cur != nil && cur.broken() == nil {
		return cur, nil // another caller dialled meanwhile
	}
	if failed.After(waiting) {
		// A dial failed while this caller waited for its turn: share
		// the outcome rather than queue up behind each other's
		// timeouts while Dovecot is unreachable.
		return nil, failure
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cn, err := dial(ctx, c.network, c.address, c.IdleTimeout, c.ReplyTimeout)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.dialFailed, c.dialErr = time.Now(), err
		return nil, err
	}
	if c.closed {
		cn.close()
		return nil, errClosed
	}
	c.cur = cn
	return cn, nil
}

// Mechanisms returns the mechanisms Dovecot offers (auth_mechanisms),
// as its handshake listed them.
func (c *Client) Mechanisms(ctx context.Context) ([]sasl.Mechanism, error) {
	cn, err := c.conn(ctx)
	if err != nil {
		return nil, c.errorf("%w", err)
	}
	return append([]sasl.Mechanism(nil), cn.mechs...), nil
}

// Start begins an exchange; it sends nothing until the first Next.
// Start does no I/O and never fails.
func (c *Client) Start(_ context.Context, mech string, cl sasl.Client, initial []byte) (sasl.Exchange, error) {
	if c.Service != "" || cl.Service == "" {
		// smtpd_sasl_service, read with the rest of the backend's
		// configuration, wins over what the session passes.
		cl.Service = c.Service
	}
	return &exchange{c: c, mech: strings.ToUpper(mech), client: cl, initial: initial}, nil
}

func (c *Client) maxPending() int {
	if c.MaxPending == 0 {
		return DefaultMaxPending
	}
	return c.MaxPending
}

// Close closes the connection; exchanges in progress fail.
func (c *Client) Close() error {
	c.mu.Lock()
	cur := c.cur
	c.closed, c.cur = true, nil
	c.mu.Unlock()
	if cur != nil {
		cur.close()
	}
	return nil
}

var _ sasl.Authenticator = (*Client)(nil)
