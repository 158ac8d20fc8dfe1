// Command tlsload is smtp-source with STARTTLS: Postfix's smtp-source
// speaks no TLS, so the TLS benchmark sends its load with this. Each of
// -s sessions at a time connects, says EHLO, STARTTLS, EHLO again, sends
// one message of -l bytes (or, with -d, its share of messages over the
// one connection) and QUITs, until -m messages are accepted. It prints
// one line: messages, handshakes, seconds, messages and handshakes per
// second. Any reply other than the expected one is an error: the
// benchmark must not count refused mail.
//
//	tlsload [-s 20] [-m 2000] [-l 4096] [-d] [-plain] [-classic] [-f FROM] [-t TO] [-cycle N] HOST:PORT
//	tlsload -idle N [-plain] [-s 20] HOST:PORT
//
// -idle N opens N sessions, -s at a time, each left idle after STARTTLS
// and the second EHLO (with -plain: after the greeting and EHLO), prints
// "ready" and holds them until its standard input closes: the harness
// measures the server's memory and rate meanwhile.
//
// -hs only shakes hands: EHLO, STARTTLS, handshake, QUIT, -m times.
//
// -cycle N sends message k (from 0) to -t with "%d" replaced by k mod
// N: "-cycle 50 -t u%d@v.test" spreads the load over 50 mailboxes.
//
// -classic offers the X25519 key share alone, as OpenSSL 3.0 clients
// (and Postfix 3.7's smtp) do; by default Go also offers the hybrid
// post-quantum X25519MLKEM768, which costs the server more.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type options struct {
	addr       string
	sessions   int
	messages   int
	size       int
	reuse      bool
	plain      bool
	handshakes bool
	from, to   string
	timeout    time.Duration
	classic    bool
	cycle      int
}

func main() {
	var o options
	flag.IntVar(&o.sessions, "s", 20, "sessions at a time")
	flag.IntVar(&o.messages, "m", 2000, "messages (or handshakes with -hs)")
	flag.IntVar(&o.size, "l", 4096, "message size in bytes")
	flag.BoolVar(&o.reuse, "d", false, "send several messages per connection (smtp-source -d)")
	flag.BoolVar(&o.plain, "plain", false, "no STARTTLS (to compare)")
	flag.BoolVar(&o.handshakes, "hs", false, "only handshakes: EHLO, STARTTLS, QUIT")
	flag.StringVar(&o.from, "f", "bench@client.test", "MAIL FROM")
	flag.StringVar(&o.to, "t", "bench@bench.test", "RCPT TO")
	flag.DurationVar(&o.timeout, "timeout", 2*time.Minute, "per-connection deadline")
	flag.IntVar(&o.cycle, "cycle", 0, `with N > 0, message k goes to -t with "%d" replaced by k mod N`)
	flag.BoolVar(&o.classic, "classic", false, "offer X25519 alone, not Go's hybrid X25519MLKEM768 (as OpenSSL 3.0 clients)")
	idle := flag.Int("idle", 0, "hold this many idle sessions (TLS unless -plain) until stdin closes")
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(64)
	}
	o.addr = flag.Arg(0)
	var err error
	if *idle > 0 {
		err = holdIdle(o, *idle)
	} else {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsload:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	var next, handshakes atomic.Int64
	var firstErr error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	body := message(o.size)
	start := time.Now()
	var wg sync.WaitGroup
	for range o.sessions {
		wg.Go(func() {
			for next.Load() < int64(o.messages) {
				n, hs, err := session(o, body, &next)
				handshakes.Add(int64(hs))
				if err != nil {
					fail(err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	if firstErr != nil {
		return firstErr
	}
	done := min(next.Load(), int64(o.messages))
	fmt.Printf("tlsload: %d msgs %d handshakes %.3f s %.1f msg/s %.1f handshakes/s\n",
		done, handshakes.Load(), secs, float64(done)/secs, float64(handshakes.Load())/secs)
	return nil
}

// session runs one connection; it returns how many messages it sent and
// whether it shook hands.
func session(o options, body []byte, next *atomic.Int64) (sent, handshakes int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	c, err := dial(ctx, o)
	if err != nil {
		return 0, 0, err
	}
	defer c.close()
	if !o.plain {
		handshakes = 1
	}
	for {
		k := next.Add(1)
		if k > int64(o.messages) {
			break
		}
		if o.handshakes {
			sent++
			break
		}
		if err := c.send(o, recipient(o, k-1), body); err != nil {
			return sent, handshakes, err
		}
		sent++
		if !o.reuse {
			break
		}
	}
	return sent, handshakes, c.cmd("QUIT", "221")
}

type client struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

// dial connects and says EHLO, STARTTLS, EHLO (or EHLO alone, -plain).
func dial(ctx context.Context, o options) (*client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", o.addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c := &client{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn)}
	if err := c.expect("220"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := c.cmd("EHLO tlsload.test", "250"); err != nil {
		conn.Close()
		return nil, err
	}
	if o.plain {
		return c, nil
	}
	if err := c.cmd("STARTTLS", "220"); err != nil {
		conn.Close()
		return nil, err
	}
	host, _, _ := net.SplitHostPort(o.addr)
	cfg := &tls.Config{ServerName: host, InsecureSkipVerify: true} // a benchmark: any certificate
	if o.classic {
		cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	c.conn, c.r, c.w = tc, bufio.NewReader(tc), bufio.NewWriter(tc)
	if err := c.cmd("EHLO tlsload.test", "250"); err != nil {
		tc.Close()
		return nil, err
	}
	return c, nil
}

func (c *client) close() { c.conn.Close() }

// recipient is message k's recipient: -t, or with -cycle its "%d"
// replaced by k mod N.
func recipient(o options, k int64) string {
	if o.cycle <= 0 {
		return o.to
	}
	return strings.Replace(o.to, "%d", fmt.Sprint(k%int64(o.cycle)), 1)
}

// send sends one message: MAIL, RCPT and DATA pipelined as smtp-source
// does, then the content.
func (c *client) send(o options, to string, body []byte) error {
	fmt.Fprintf(c.w, "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n", o.from, to)
	if err := c.w.Flush(); err != nil {
		return err
	}
	for _, want := range []string{"250", "250", "354"} {
		if err := c.expect(want); err != nil {
			return err
		}
	}
	c.w.Write(body)
	c.w.WriteString(".\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	return c.expect("250")
}

func (c *client) cmd(line, want string) error {
	c.w.WriteString(line + "\r\n")
	if err := c.w.Flush(); err != nil {
		return err
	}
	if err := c.expect(want); err != nil {
		return fmt.Errorf("%s: %w", strings.Fields(line)[0], err)
	}
	return nil
}

// expect reads one reply, all its lines, and checks its code.
func (c *client) expect(want string) error {
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return err
		}
		if len(line) < 4 || line[:3] != want {
			return fmt.Errorf("got %q, want %s", strings.TrimSpace(line), want)
		}
		if line[3] != '-' {
			return nil
		}
	}
}

// message is a message of about size bytes in lines of 72 characters.
func message(size int) []byte {
	var b strings.Builder
	b.WriteString("From: <bench@client.test>\r\nTo: <bench@bench.test>\r\nSubject: tlsload\r\n\r\n")
	line := strings.Repeat("x", 70) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return []byte(b.String())
}

// holdIdle opens n sessions (TLS, or with -plain only greeted and
// EHLO answered), -s at a time, prints "ready" and keeps them open until
// stdin closes.
func holdIdle(o options, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	conns := make([]*client, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.close()
			}
		}
	}()
	var next atomic.Int64
	errs := make(chan error, o.sessions)
	var wg sync.WaitGroup
	for range max(1, o.sessions) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				c, err := dial(ctx, o)
				if err != nil {
					errs <- fmt.Errorf("session %d: %w", i+1, err)
					cancel()
					return
				}
				c.conn.SetDeadline(time.Time{})
				conns[i] = c
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	fmt.Println("ready")
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}
