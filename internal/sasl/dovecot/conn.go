package dovecot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/postern-mta/postern/internal/sasl"
)

// errIdle closes a connection no exchange has used for IdleTimeout.
var errIdle = errors.New("closed after being idle")

// errClosed: the Client was closed.
var errClosed = errors.New("client closed")

// conn is one handshaken connection to Dovecot's auth client socket.
// Exchanges share it: each has its own request id, and one reader
// goroutine hands every reply to the exchange whose id it carries.
type conn struct {
	nc    net.Conn
	r     *bufio.Reader
	mechs []sasl.Mechanism
	idle  time.Duration
	hung  time.Duration // silence that makes a timed-out wait close it

	wmu sync.Mutex // one line written at a time

	mu     sync.Mutex
	open   map[uint32]chan line // ids of unfinished exchanges
	nextID uint32
	err    error         // why the connection is broken; set once
	dead   chan struct{} // closed with err set
	timer  *time.Timer   // idle close while open is empty

	lastRead atomic.Int64 // UnixNano of the last line received
}

// deadline is timeout from now, or ctx's deadline if that is sooner.
func deadline(ctx context.Context, timeout time.Duration) time.Time {
	d := time.Now().Add(timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}

// dial connects and runs the handshake: VERSION and CPID from us;
// VERSION, MECH lines, SPID, CUID, COOKIE and DONE from Dovecot.
func dial(ctx context.Context, network, address string, idle, hung time.Duration) (*conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return newConn(ctx, nc, idle, hung)
}

// newConn runs the handshake on nc and starts its reader.
func newConn(ctx context.Context, nc net.Conn, idle, hung time.Duration) (*conn, error) {
	c := &conn{nc: nc, r: bufio.NewReader(nc), idle: idle, hung: hung, open: map[uint32]chan line{}, dead: make(chan struct{})}
	if err := c.handshake(ctx); err != nil {
		nc.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("handshake: %w (%w)", ctx.Err(), err)
		}
		return nil, err
	}
	go c.readLoop()
	c.mu.Lock()
	c.armIdle()
	c.mu.Unlock()
	return c, nil
}

// Bounds on the handshake: Dovecot 2.3 sends about 15 MECH lines and
// well under 1 KiB in all. A server that sends more (a hostile one
// behind inet:, or a man in the middle) must not grow the client's
// memory until the timeout: the handshake fails instead.
const (
	maxMechs     = 64
	maxHandshake = 64 << 10 // bytes
)

func (c *conn) handshake(ctx context.Context) error {
	cd, _ := ctx.Deadline() // the caller bounds the handshake
	c.nc.SetDeadline(cd)
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := fmt.Fprintf(c.nc, "VERSION\t1\t2\nCPID\t%d\n", os.Getpid()); err != nil {
		return fmt.Errorf("sending the handshake: %w", err)
	}
	version := false
	size, mechs := 0, 0
	for {
		s, err := readLine(c.r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("connection closed by Dovecot")
			}
			return fmt.Errorf("reading the handshake: %w", err)
		}
		if size += len(s) + 1; size > maxHandshake {
			return fmt.Errorf("handshake larger than %d KiB", maxHandshake>>10)
		}
		l := parseLine(s)
		switch l.cmd {
		case "VERSION":
			if len(l.args) < 1 || l.args[0] != "1" {
				return fmt.Errorf("unsupported protocol version %q (want 1)", strings.Join(l.args, "."))
			}
			version = true
		case "MECH":
			if mechs++; mechs > maxMechs {
				return fmt.Errorf("handshake with more than %d mechanisms", maxMechs)
			}
			if m, ok := parseMech(l.args); ok {
				c.mechs = append(c.mechs, m)
			}
		case "SPID":
			// Dovecot's auth-master and auth-userdb sockets send
			// VERSION and SPID and then wait; only the auth client
			// socket lists mechanisms first.
			if len(c.mechs) == 0 {
				return errors.New("not Dovecot's auth client socket (no MECH before SPID: an auth-master or auth-userdb socket?)")
			}
		case "DONE":
			if !version {
				return errors.New("handshake without VERSION")
			}
			c.nc.SetDeadline(time.Time{})
			return nil
		}
		// CUID, COOKIE and unknown lines: not needed by a client
		// that only authenticates.
	}
}

// parseMech reads "MECH name flag...". Private mechanisms (for
// Dovecot's own use) are skipped, as Postfix does.
func parseMech(args []string) (sasl.Mechanism, bool) {
	if len(args) == 0 {
		return sasl.Mechanism{}, false
	}
	m := sasl.Mechanism{Name: strings.ToUpper(args[0])}
	if !validMech(m.Name) {
		return m, false
	}
	for _, f := range args[1:] {
		switch strings.ToLower(f) {
		case "private":
			return m, false
		case "plaintext":
			m.Plaintext = true
		case "anonymous":
			m.Anonymous = true
		case "dictionary":
			m.Dictionary = true
		case "active":
			m.Active = true
		case "forward-secrecy":
			m.ForwardSecrecy = true
		case "mutual-auth":
			m.MutualAuth = true
		}
	}
	return m, true
}

// readLoop hands each reply to its exchange until the connection breaks.
func (c *conn) readLoop() {
	for {
		s, err := readLine(c.r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("connection closed by Dovecot")
			}
			c.fail(err)
			return
		}
		c.lastRead.Store(time.Now().UnixNano())
		l := parseLine(s)
		if l.cmd != "OK" && l.cmd != "FAIL" && l.cmd != "CONT" || len(l.args) == 0 {
			continue // unknown lines are ignored, as the protocol says
		}
		id, err := strconv.ParseUint(l.args[0], 10, 32)
		if err != nil {
			continue
		}
		c.mu.Lock()
		ch, ok := c.open[uint32(id)]
		if ok && l.cmd != "CONT" {
			delete(c.open, uint32(id))
			c.armIdle()
		}
		c.mu.Unlock()
		if ok {
			select {
			case ch <- l:
			default: // a reply nobody asked for: dropped
			}
		}
	}
}

// fail breaks the connection with err (the first reason wins).
func (c *conn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLocked(err)
}

func (c *conn) failLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	close(c.dead)
	if c.timer != nil {
		c.timer.Stop()
	}
	c.nc.Close()
}

// broken returns why the connection is unusable, or nil.
func (c *conn) broken() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// armIdle closes the connection after c.idle with no unfinished
// exchange. Called with c.mu held.
func (c *conn) armIdle() {
	if len(c.open) > 0 || c.idle <= 0 || c.err != nil {
		return
	}
	if c.timer != nil {
		c.timer.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(c.idle, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.timer == t && len(c.open) == 0 {
			c.failLocked(errIdle)
		}
	})
	c.timer = t
}

// errTooMany: the connection has as many requests in progress as it
// may (Client.MaxPending).
var errTooMany = errors.New("too many authentication requests in progress")

// begin reserves a new request id, unless max (> 0) requests are in
// progress already.
func (c *conn) begin(max int) (uint32, chan line, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, nil, c.err
	}
	if max > 0 && len(c.open) >= max {
		return 0, nil, fmt.Errorf("%w (%d)", errTooMany, len(c.open))
	}
	c.nextID++
	ch := make(chan line, 1)
	c.open[c.nextID] = ch
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	return c.nextID, ch, nil
}

// end forgets id: a late reply to it is dropped. It reports whether id
// was still in progress (no OK or FAIL came for it).
func (c *conn) end(id uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.open[id]; ok {
		delete(c.open, id)
		c.armIdle()
		return true
	}
	return false
}

// cancel tells Dovecot to drop request id (the protocol's CANCEL, which
// Dovecot 2.3 handles silently and later versions answer with
// CANCELLED: an unknown line the reader ignores, as it drops any late
// reply to an id it forgot). The write has the connection's write
// deadline; a failed one breaks the connection, as any failed write.
func (c *conn) cancel(id uint32, timeout time.Duration) {
	c.send(context.Background(), "CANCEL\t"+strconv.FormatUint(uint64(id), 10)+"\n", timeout)
}

// send writes one line (text ends with LF and holds no other) with
// ctx's deadline. A failed write leaves the connection in an unknown
// state: it is broken.
func (c *conn) send(ctx context.Context, text string, timeout time.Duration) error {
	if strings.IndexByte(text, '\n') != len(text)-1 {
		return errors.New("refusing to send a line with an embedded LF") // escape() makes this unreachable
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.broken(); err != nil {
		return err
	}
	// The connection is shared: a session that goes away (ctx
	// cancelled) must not cut a write short, which would break every
	// exchange on it. Only the deadline bounds a write.
	if err := ctx.Err(); err != nil {
		return err
	}
	c.nc.SetWriteDeadline(deadline(ctx, timeout))
	_, err := io.WriteString(c.nc, text)
	if err != nil {
		c.fail(fmt.Errorf("writing: %w", err))
	}
	return err
}

// wait returns the next reply on ch. When ctx's deadline passes first
// and nothing at all arrived on the connection since the request was
// sent, nor for c.hung, Dovecot is taken for hung and the connection
// is closed: the next exchange reconnects. A cancelled ctx (the SMTP
// client left) never closes it: other exchanges share it.
func (c *conn) wait(ctx context.Context, ch chan line, sent time.Time) (line, error) {
	select {
	case l := <-ch:
		return l, nil
	case <-c.dead:
		select { // a reply that came just before the connection broke
		case l := <-ch:
			return l, nil
		default:
		}
		return line{}, c.broken()
	case <-ctx.Done():
		last := max(c.lastRead.Load(), sent.UnixNano())
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && time.Since(time.Unix(0, last)) >= c.hung {
			c.fail(fmt.Errorf("no reply: %w", ctx.Err()))
		}
		return line{}, fmt.Errorf("waiting for a reply: %w", ctx.Err())
	}
}

func (c *conn) close() { c.fail(errClosed) }
