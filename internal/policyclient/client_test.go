package policyclient

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer is a policy server on loopback: answer maps a request's
// attributes to the reply lines (without the empty line); a nil reply
// closes the connection without answering. conns counts accepted
// connections, requests the requests per connection.
type fakeServer struct {
	ln     net.Listener
	answer func(req map[string]string) []string
	conns  atomic.Int32
	mu     sync.Mutex
	reqs   []map[string]string
	closed chan struct{} // a connection was closed by the client
}

func newFakeServer(t *testing.T, answer func(map[string]string) []string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln, answer: answer, closed: make(chan struct{}, 100)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go s.serve(c)
		}
	}()
	return s
}

func (s *fakeServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		req, err := Read(r)
		if err != nil {
			s.closed <- struct{}{}
			return
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
		lines := s.answer(req)
		if lines == nil {
			return
		}
		c.Write([]byte(strings.Join(lines, "\n") + "\n\n"))
	}
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func okServer(req map[string]string) []string { return []string{"action=DUNNO"} }

func TestEndpoint(t *testing.T) {
	tests := []struct{ spec, network, addr, err string }{
		{"inet:127.0.0.1:10023", "tcp", "127.0.0.1:10023", ""},
		{"inet:[::1]:10023", "tcp", "[::1]:10023", ""},
		{"inet::9998", "tcp", "localhost:9998", ""},
		{"unix:private/policy", "unix", "/var/spool/postern/private/policy", ""},
		{"unix:/run/policyd.sock", "unix", "/run/policyd.sock", ""},
		{"inet:127.0.0.1", "", "", "expected inet:host:port"},
		{"tcp:127.0.0.1:1", "", "", "unsupported transport"},
		{"127.0.0.1:10023", "", "", "unsupported transport"},
		{"unix:", "", "", "expected inet:host:port or unix:pathname"},
	}
	for _, tc := range tests {
		n, a, err := Endpoint(tc.spec, "/var/spool/postern")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || n != tc.network || a != tc.addr {
			t.Errorf("%s: %s %s %v, want %s %s", tc.spec, n, a, err, tc.network, tc.addr)
		}
	}
}

func TestEncodeRead(t *testing.T) {
	got := string(Encode([]Attr{{"request", "smtpd_access_policy"}, {"sender", "a\r\nb"}, {"size", "0"}}))
	if want := "request=smtpd_access_policy\nsender=a  b\nsize=0\n\n"; got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
	tests := []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"action=DUNNO\n\n", map[string]string{"action": "DUNNO"}, ""},
		{"action=REJECT no=way\r\nfoo=bar\r\n\r\n", map[string]string{"action": "REJECT no=way", "foo": "bar"}, ""},
		{"action=OK\naction=REJECT\n\n", map[string]string{"action": "OK"}, ""},
		{"garbage\n\n", nil, "malformed"},
		{"action=DUNNO\n", nil, "closed"},
		{"action=" + strings.Repeat("x", maxLine) + "\n\n", nil, "longer than"},
		{strings.Repeat("a=b\n", maxAttrs+1) + "\n", nil, "more than"},
	}
	for _, tc := range tests {
		got, err := Read(bufio.NewReaderSize(strings.NewReader(tc.in), 16))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%.30q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%q: %s=%q, want %q", tc.in, k, got[k], v)
			}
		}
	}
}

func opts() Options {
	return Options{Timeout: 5 * time.Second, MaxIdle: 300 * time.Second, MaxTTL: 1000 * time.Second, TryLimit: 2, RetryDelay: time.Millisecond}
}

// TestReuse: one connection serves successive requests, and parallel
// requests each get their own.
func TestReuse(t *testing.T) {
	s := newFakeServer(t, okServer)
	c := New("tcp", s.addr(), opts())
	defer c.Close()
	for i := 0; i < 5; i++ {
		if _, err := c.Query(context.Background(), []Attr{{"request", "smtpd_access_policy"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential requests, want 1", n)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Query(context.Background(), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := s.conns.Load(); n > 21 {
		t.Errorf("%d connections, want at most 21", n)
	}
	if c.Idle() < 1 {
		t.Errorf("no connection pooled after the parallel requests")
	}
}

// fakeClock is a settable clock for max_idle and max_ttl.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) Now() time.Time          { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) Advance(d time.Duration) { f.mu.Lock(); f.t = f.t.Add(d); f.mu.Unlock() }

// TestLimits: max_idle, max_ttl and request_limit each make the next
// request open a new connection, and the old one is closed.
func TestLimits(t *testing.T) {
	tests := []struct {
		name string
		set  func(*Options)
		// step runs between requests; reqs: requests before the
		// connection must be replaced.
		step func(*fakeClock)
		reqs int
	}{
		{"max_idle", func(o *Options) { o.MaxIdle = 10 * time.Second }, func(c *fakeClock) { c.Advance(10 * time.Second) }, 1},
		{"max_ttl", func(o *Options) { o.MaxTTL = 25 * time.Second }, func(c *fakeClock) { c.Advance(9 * time.Second) }, 3},
		{"request_limit", func(o *Options) { o.RequestLimit = 4 }, func(*fakeClock) {}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t, okServer)
			clock := &fakeClock{t: time.Unix(1e9, 0)}
			o := opts()
			o.Now = clock.Now
			tc.set(&o)
			c := New("tcp", s.addr(), o)
			defer c.Close()
			for i := 0; i < tc.reqs; i++ {
				if _, err := c.Query(context.Background(), nil); err != nil {
					t.Fatal(err)
				}
				tc.step(clock)
			}
			if n := s.conns.Load(); n != 1 {
				t.Fatalf("%d connections after %d requests, want 1", n, tc.reqs)
			}
			if _, err := c.Query(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if n := s.conns.Load(); n != 2 {
				t.Errorf("%d connections, want 2 (the first one retired)", n)
			}
			select {
			case <-s.closed: // the retired connection was closed by us
			case <-time.After(10 * time.Second):
				t.Error("the retired connection was not closed")
			}
		})
	}
}

// TestRetry: a server that drops the first connection without answering
// is retried (try_limit 2); with try_limit 1 the query fails.
func TestRetry(t *testing.T) {
	for _, tc := range []struct {
		tries int
		ok    bool
	}{{1, false}, {2, true}} {
		var n atomic.Int32
		s := newFakeServer(t, func(map[string]string) []string {
			if n.Add(1) == 1 {
				return nil
			}
			return []string{"action=OK"}
		})
		o := opts()
		o.TryLimit = tc.tries
		c := New("tcp", s.addr(), o)
		ans, err := c.Query(context.Background(), nil)
		if tc.ok != (err == nil) {
			t.Errorf("try_limit %d: %v %v", tc.tries, ans, err)
		}
		if err == nil && ans["action"] != "OK" {
			t.Errorf("try_limit %d: action %q", tc.tries, ans["action"])
		}
		c.Close()
	}
}

// TestTimeout: a server that never answers fails the query after the
// timeout, on each attempt; a refused connection fails at once.
func TestTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	s := newFakeServer(t, func(map[string]string) []string { <-block; return nil })
	o := opts()
	o.Timeout, o.TryLimit = 50*time.Millisecond, 2
	c := New("tcp", s.addr(), o)
	_, err := c.Query(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("err = %v, want a timeout", err)
	}
	if n := s.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (try_limit)", n)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if _, err := New("tcp", addr, o).Query(context.Background(), nil); err == nil {
		t.Error("query to a closed port succeeded")
	}
}

// TestNoAction: an answer without action= is a failure.
func TestNoAction(t *testing.T) {
	s := newFakeServer(t, func(map[string]string) []string { return []string{"foo=bar"} })
	o := opts()
	o.TryLimit = 1
	if _, err := New("tcp", s.addr(), o).Query(context.Background(), nil); !errors.Is(err, ErrNoAction) {
		t.Errorf("err = %v, want ErrNoAction", err)
	}
}

// TestIdleReaper: a pooled connection nobody uses is closed after
// max_idle even without a next request, freeing the server's slot.
func TestIdleReaper(t *testing.T) {
	s := newFakeServer(t, okServer)
	o := opts()
	o.MaxIdle = 20 * time.Millisecond
	c := New("tcp", s.addr(), o)
	defer c.Close()
	if _, err := c.Query(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.closed: // the server saw the close
	case <-time.After(30 * time.Second):
		t.Fatal("the idle connection was not closed")
	}
	if n := c.Idle(); n != 0 {
		t.Errorf("%d pooled connections after max_idle, want 0", n)
	}
}

// TestRetryStale: a pooled connection the server closed is replaced at
// once (the second attempt does not wait retry_delay); a third attempt
// waits it.
func TestRetryStale(t *testing.T) {
	var n atomic.Int32
	s := newFakeServer(t, func(map[string]string) []string {
		if n.Add(1) == 2 {
			return nil // hang up instead of answering the second request
		}
		return []string{"action=OK"}
	})
	o := opts()
	o.RetryDelay = time.Hour
	c := New("tcp", s.addr(), o)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 2; i++ {
		if _, err := c.Query(ctx, nil); err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
	}
	// try_limit 3 against a server that is gone: the third attempt waits.
	s.ln.Close()
	o.TryLimit = 3
	c3 := New("tcp", s.addr(), o)
	ctx2, cancel2 := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := c3.Query(ctx2, nil); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("try_limit 3 returned before retry_delay: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	cancel2()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("err = %v, want the cancelled wait", err)
	}
}
