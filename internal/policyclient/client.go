package policyclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options are the smtpd_policy_service_* settings of one endpoint.
type Options struct {
	Timeout      time.Duration // each request's read and write (smtpd_policy_service_timeout)
	MaxIdle      time.Duration // an unused connection is closed after this
	MaxTTL       time.Duration // a connection is not reused once this old
	TryLimit     int           // attempts per request (at least 1)
	RetryDelay   time.Duration // pause before the third and later attempts
	RequestLimit int           // requests per connection; 0: no limit
	// Name is the endpoint as configured (inet:host:port), for errors;
	// "" means network:addr.
	Name string
	// Now is the clock deciding idle and age; nil means time.Now.
	Now func() time.Time
	// Dial opens a connection; nil means a net.Dialer with Timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Attr is one request attribute.
type Attr struct{ Name, Value string }

// Limits on an answer, so a broken server cannot make us buffer without end.
const (
	maxLine  = 8192
	maxAttrs = 256
)

// ErrNoAction: the server answered without an action attribute.
var ErrNoAction = errors.New("policy server answer has no action attribute")

// Endpoint parses a check_policy_service argument: inet:host:port, or
// unix:path with a relative path under queueDir (Postfix's private/policy).
func Endpoint(spec, queueDir string) (network, addr string, err error) {
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok || rest == "" {
		return "", "", fmt.Errorf("policy service %q: expected inet:host:port or unix:pathname", spec)
	}
	switch kind {
	case "inet":
		host, port, err := net.SplitHostPort(rest)
		if err != nil || port == "" {
			return "", "", fmt.Errorf("policy service %q: expected inet:host:port", spec)
		}
		if host == "" {
			host = "localhost"
		}
		return "tcp", net.JoinHostPort(host, port), nil
	case "unix":
		if !filepath.IsAbs(rest) {
			rest = filepath.Join(queueDir, rest)
		}
		return "unix", rest, nil
	}
	return "", "", fmt.Errorf("policy service %q: unsupported transport %q: expected inet: or unix:", spec, kind)
}

// Client talks to one policy server endpoint. It is safe for concurrent use.
type Client struct {
	network, addr string
	opt           Options

	mu     sync.Mutex
	idle   []*conn
	closed bool
}

type conn struct {
	net.Conn
	r        *bufio.Reader
	born     time.Time
	used     time.Time
	requests int
	reaper   *time.Timer
}

// New returns a client of the endpoint (network and addr as Endpoint
// returns them).
func New(network, addr string, opt Options) *Client {
	if opt.TryLimit < 1 {
		opt.TryLimit = 1
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Dial == nil {
		d := &net.Dialer{Timeout: opt.Timeout}
		opt.Dial = d.DialContext
	}
	return &Client{network: network, addr: addr, opt: opt}
}

// String names the endpoint as log lines do.
func (c *Client) String() string {
	if c.opt.Name != "" {
		return c.opt.Name
	}
	return c.network + ":" + c.addr
}

// Query sends one request and returns the answer's attributes, which
// include "action". A failed attempt (connect, timeout, broken answer)
// is retried up to TryLimit attempts in all: the second at once (a
// pooled connection the server closed is the common failure), later
// ones after RetryDelay, as Postfix's attr_clnt.
func (c *Client) Query(ctx context.Context, attrs []Attr) (map[string]string, error) {
	var err error
	for try := 0; try < c.opt.TryLimit; try++ {
		if try > 1 {
			t := time.NewTimer(c.opt.RetryDelay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("%s: %w (after: %v)", c, ctx.Err(), err)
			}
		}
		var ans map[string]string
		if ans, err = c.attempt(ctx, attrs); err == nil {
			return ans, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%s: %w", c, err)
}

func (c *Client) attempt(ctx context.Context, attrs []Attr) (map[string]string, error) {
	cn, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	ans, err := cn.request(ctx, attrs, c.opt.Timeout)
	if err != nil {
		cn.Close()
		return nil, err
	}
	cn.requests++
	cn.used = c.opt.Now()
	c.put(cn)
	return ans, nil
}

// usable: a pooled connection within max_idle, max_ttl and request_limit.
func (c *Client) usable(cn *conn, now time.Time) bool {
	if c.opt.MaxIdle > 0 && now.Sub(cn.used) >= c.opt.MaxIdle {
		return false
	}
	if c.opt.MaxTTL > 0 && now.Sub(cn.born) >= c.opt.MaxTTL {
		return false
	}
	return c.opt.RequestLimit <= 0 || cn.requests < c.opt.RequestLimit
}

func (c *Client) get(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	now := c.opt.Now()
	for len(c.idle) > 0 {
		cn := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if cn.reaper != nil {
			cn.reaper.Stop()
		}
		if c.usable(cn, now) {
			c.mu.Unlock()
			return cn, nil
		}
		cn.Close()
	}
	c.mu.Unlock()
	if c.opt.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opt.Timeout)
		defer cancel()
	}
	nc, err := c.opt.Dial(ctx, c.network, c.addr)
	if err != nil {
		return nil, err
	}
	now = c.opt.Now()
	return &conn{Conn: nc, r: bufio.NewReaderSize(nc, 4096), born: now, used: now}, nil
}

// put returns a connection to the pool, or closes it when it may not be
// reused; an idle connection is closed after MaxIdle even if nobody asks.
func (c *Client) put(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || !c.usable(cn, c.opt.Now()) {
		cn.Close()
		return
	}
	if c.opt.MaxIdle > 0 {
		cn.reaper = time.AfterFunc(c.opt.MaxIdle, func() { c.reap(cn) })
	}
	c.idle = append(c.idle, cn)
}

func (c *Client) reap(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.idle {
		if x == cn {
			c.idle = append(c.idle[:i], c.idle[i+1:]...)
			cn.Close()
			return
		}
	}
}

// Idle is the number of pooled connections (for tests and monitoring).
func (c *Client) Idle() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.idle)
}

// Close closes the pooled connections; the client can still be used,
// but returns no more connections to the pool.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, cn := range c.idle {
		if cn.reaper != nil {
			cn.reaper.Stop()
		}
		cn.Close()
	}
	c.idle = nil
	return nil
}

func (cn *conn) deadline(ctx context.Context, timeout time.Duration) {
	var dl time.Time
	if timeout > 0 {
		dl = time.Now().Add(timeout)
	}
	if d, ok := ctx.Deadline(); ok && (dl.IsZero() || d.Before(dl)) {
		dl = d
	}
	cn.SetDeadline(dl)
}

func (cn *conn) request(ctx context.Context, attrs []Attr, timeout time.Duration) (map[string]string, error) {
	stop := context.AfterFunc(ctx, func() { cn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	cn.deadline(ctx, timeout)
	if _, err := cn.Write(Encode(attrs)); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	cn.deadline(ctx, timeout)
	ans, err := Read(cn.r)
	if err != nil {
		return nil, err
	}
	if _, ok := ans["action"]; !ok {
		return nil, ErrNoAction
	}
	return ans, nil
}

// Encode is the request's wire form: name=value lines and an empty
// line. A line break in a value would end the attribute early, so it is
// replaced with a space.
func Encode(attrs []Attr) []byte {
	var b strings.Builder
	for _, a := range attrs {
		b.WriteString(a.Name)
		b.WriteByte('=')
		b.WriteString(strings.NewReplacer("\r", " ", "\n", " ").Replace(a.Value))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

// Read reads one answer: name=value lines up to an empty line. A line
// without "=" or over the length limits is an error.
func Read(r *bufio.Reader) (map[string]string, error) {
	ans := map[string]string{}
	for n := 0; ; n++ {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if line == "" {
			return ans, nil
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("malformed answer line %q", trunc(line))
		}
		if n >= maxAttrs {
			return nil, fmt.Errorf("answer has more than %d attributes", maxAttrs)
		}
		if _, dup := ans[name]; !dup {
			ans[name] = value
		}
	}
}

func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", fmt.Errorf("read: connection closed by the policy server")
			}
			return "", fmt.Errorf("read: %w", err)
		}
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", fmt.Errorf("answer line longer than %d bytes", maxLine)
		}
		if !isPrefix {
			return strings.TrimSuffix(string(b), "\r"), nil
		}
	}
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
