package dnscache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dnstest"
)

// count is how many queries the server got for name and type.
func count(s *dnstest.Server, name string, t dnstest.Type) int {
	n := 0
	for _, q := range s.Queries() {
		if q.Name == name && q.Type == t {
			n++
		}
	}
	return n
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newCache(t *testing.T, zone dnstest.Zone) (*Cache, *dnstest.Server, *clock) {
	t.Helper()
	srv := dnstest.Start(t, zone)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := New(srv.Resolver())
	c.Now = clk.now
	return c, srv, clk
}

func TestCachesAnswers(t *testing.T) {
	ctx := context.Background()
	c, srv, clk := newCache(t, dnstest.Zone{
		"txt.example":   {dnstest.TXT("v=spf1 -all")},
		"mx.example":    {dnstest.MX(10, "mail.mx.example")},
		"a.example":     {dnstest.A("192.0.2.1")},
		"192.0.2.7":     {dnstest.PTR("ptr.example")},
		"empty.example": {dnstest.A("192.0.2.2")}, // no TXT: NODATA
	})
	lookups := []struct {
		name  string
		qname string
		typ   dnstest.Type
		do    func() error
	}{
		{"TXT", "txt.example", dnstest.TypeTXT, func() error { _, err := c.LookupTXT(ctx, "txt.example."); return err }},
		{"TXT other case", "TXT.Example", dnstest.TypeTXT, func() error { _, err := c.LookupTXT(ctx, "TXT.Example."); return err }},
		{"MX", "mx.example", dnstest.TypeMX, func() error { _, err := c.LookupMX(ctx, "mx.example."); return err }},
		{"A", "a.example", dnstest.TypeA, func() error { _, err := c.LookupNetIP(ctx, "ip4", "a.example."); return err }},
		{"PTR", "7.2.0.192.in-addr.arpa", dnstest.TypePTR, func() error { _, err := c.LookupAddr(ctx, "192.0.2.7"); return err }},
	}
	for _, l := range lookups {
		if err := l.do(); err != nil {
			t.Fatalf("%s: %v", l.name, err)
		}
	}
	before := len(srv.Queries())
	for _, l := range lookups {
		if err := l.do(); err != nil {
			t.Fatalf("%s again: %v", l.name, err)
		}
	}
	if after := len(srv.Queries()); after != before {
		t.Errorf("cached lookups sent %d queries: %v", after-before, srv.Queries()[before:])
	}
	// Expired: asked again.
	clk.add(DefaultPositiveTTL + time.Second)
	if _, err := c.LookupTXT(ctx, "txt.example."); err != nil {
		t.Fatal(err)
	}
	if n := count(srv, "txt.example", dnstest.TypeTXT); n != 2 {
		t.Errorf("TXT asked %d times after expiry, want 2", n)
	}
}

func TestNegativeCached(t *testing.T) {
	ctx := context.Background()
	c, srv, clk := newCache(t, dnstest.Zone{"a.example": {dnstest.A("192.0.2.1")}})
	for _, name := range []string{"nx.example.", "a.example."} { // NXDOMAIN, NODATA
		for i := range 2 {
			_, err := c.LookupTXT(ctx, name)
			var de *net.DNSError
			if !errorsAs(err, &de) || !de.IsNotFound {
				t.Fatalf("%s lookup %d: %v, want not found", name, i, err)
			}
		}
	}
	if n := count(srv, "nx.example", dnstest.TypeTXT); n != 1 {
		t.Errorf("NXDOMAIN asked %d times, want 1 (cached)", n)
	}
	if n := count(srv, "a.example", dnstest.TypeTXT); n != 1 {
		t.Errorf("NODATA asked %d times, want 1 (cached)", n)
	}
	clk.add(DefaultNegativeTTL + time.Second)
	c.LookupTXT(ctx, "nx.example.")
	if n := count(srv, "nx.example", dnstest.TypeTXT); n != 2 {
		t.Errorf("NXDOMAIN asked %d times after the negative TTL, want 2", n)
	}
}

func errorsAs(err error, target **net.DNSError) bool { return errors.As(err, target) }

func TestTemporaryFailureNotCached(t *testing.T) {
	ctx := context.Background()
	c, srv, _ := newCache(t, dnstest.Zone{"down.example": {dnstest.ServFail()}})
	for range 2 {
		_, err := c.LookupTXT(ctx, "down.example.")
		var de *net.DNSError
		if !errorsAs(err, &de) || de.IsNotFound || !de.Temporary() {
			t.Fatalf("SERVFAIL: %v, want a temporary *net.DNSError", err)
		}
	}
	if n := count(srv, "down.example", dnstest.TypeTXT); n < 2 {
		t.Errorf("SERVFAIL asked %d times, want it asked again each time", n)
	}
	// Once it answers, the answer is cached.
	srv.Set("down.example", dnstest.TXT("up"))
	if txt, err := c.LookupTXT(ctx, "down.example."); err != nil || len(txt) != 1 || txt[0] != "up" {
		t.Fatalf("after recovery: %q, %v", txt, err)
	}
}

func TestCancelledNotCached(t *testing.T) {
	c, _, _ := newCache(t, dnstest.Zone{"txt.example": {dnstest.TXT("x")}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.LookupTXT(ctx, "txt.example."); err == nil {
		t.Fatal("cancelled lookup succeeded")
	}
	if txt, err := c.LookupTXT(context.Background(), "txt.example."); err != nil || txt[0] != "x" {
		t.Fatalf("after a cancelled lookup: %q, %v", txt, err)
	}
}

func TestBounded(t *testing.T) {
	ctx := context.Background()
	zone := dnstest.Zone{}
	for i := range 5 {
		zone[fmt.Sprintf("n%d.example", i)] = []dnstest.Record{dnstest.TXT("x")}
	}
	c, srv, _ := newCache(t, zone)
	c.MaxEntries = 3
	for i := range 5 {
		c.LookupTXT(ctx, fmt.Sprintf("n%d.example.", i))
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
	// n0 and n1 were pushed out; n4 is still there.
	c.LookupTXT(ctx, "n4.example.")
	c.LookupTXT(ctx, "n0.example.")
	if n := count(srv, "n4.example", dnstest.TypeTXT); n != 1 {
		t.Errorf("n4 asked %d times, want 1", n)
	}
	if n := count(srv, "n0.example", dnstest.TypeTXT); n != 2 {
		t.Errorf("n0 asked %d times, want 2 (evicted)", n)
	}
}

func TestAnswersAreCopies(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newCache(t, dnstest.Zone{"txt.example": {dnstest.TXT("x")}, "mx.example": {dnstest.MX(10, "m.example")}})
	txt, _ := c.LookupTXT(ctx, "txt.example.")
	txt[0] = "changed"
	mx, _ := c.LookupMX(ctx, "mx.example.")
	mx[0].Pref = 99
	if txt, _ := c.LookupTXT(ctx, "txt.example."); txt[0] != "x" {
		t.Errorf("cached TXT changed by a caller: %q", txt)
	}
	if mx, _ := c.LookupMX(ctx, "mx.example."); mx[0].Pref != 10 {
		t.Errorf("cached MX changed by a caller: %d", mx[0].Pref)
	}
}

func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	zone := dnstest.Zone{}
	for i := range 4 {
		zone[fmt.Sprintf("n%d.example", i)] = []dnstest.Record{dnstest.TXT(fmt.Sprint(i))}
	}
	c, srv, _ := newCache(t, zone)
	c.MaxEntries = 3 // evictions while others read
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				n := (g + i) % 4
				txt, err := c.LookupTXT(ctx, fmt.Sprintf("n%d.example.", n))
				if err != nil || len(txt) != 1 || txt[0] != fmt.Sprint(n) {
					t.Errorf("n%d: %q, %v", n, txt, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if q := len(srv.Queries()); q >= 8*20 {
		t.Errorf("%d queries for %d lookups: nothing cached", q, 8*20)
	}
}

// fake answers TXT queries with answers[name]; a name in block waits
// for its channel to close (or the query's context to end), after
// telling started.
type fake struct {
	mu      sync.Mutex
	answers map[string][]string
	block   map[string]chan struct{}
	started chan string
	asked   map[string]int
}

func (f *fake) LookupTXT(ctx context.Context, name string) ([]string, error) {
	f.mu.Lock()
	f.asked[name]++
	ch := f.block[name]
	f.mu.Unlock()
	if ch != nil {
		f.started <- name
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, &net.DNSError{Err: ctx.Err().Error(), Name: name, IsTimeout: true, IsTemporary: true}
		}
	}
	return f.answers[name], nil
}

func (f *fake) count(name string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.asked[name] }

func (f *fake) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) { return nil, nil }
func (f *fake) LookupMX(context.Context, string) ([]*net.MX, error)               { return nil, nil }
func (f *fake) LookupAddr(context.Context, string) ([]string, error)              { return nil, nil }

func newFake() *fake {
	return &fake{answers: map[string][]string{}, block: map[string]chan struct{}{}, started: make(chan string, 4),
		asked: map[string]int{}}
}

// The cache is bounded in bytes: the least recently used answers go
// first, and one answer over MaxAnswerBytes is never kept.
func TestByteBudget(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	for i := range 4 {
		f.answers[fmt.Sprintf("n%d.example", i)] = []string{strings.Repeat("x", 1000)}
	}
	f.answers["huge.example"] = []string{strings.Repeat("h", 3000)}
	c := &Cache{Upstream: f, MaxBytes: 4000, MaxAnswerBytes: 2000}
	for i := range 4 {
		c.LookupTXT(ctx, fmt.Sprintf("n%d.example", i))
		if c.Bytes() > 4000 {
			t.Fatalf("%d bytes cached, budget 4000", c.Bytes())
		}
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3 answers of about 1.2 KB in 4000 bytes", c.Len())
	}
	c.LookupTXT(ctx, "n3.example")
	c.LookupTXT(ctx, "n0.example")
	if n := f.count("n3.example"); n != 1 {
		t.Errorf("n3 asked %d times, want 1 (cached)", n)
	}
	if n := f.count("n0.example"); n != 2 {
		t.Errorf("n0 asked %d times, want 2 (evicted by bytes)", n)
	}
	before := c.Bytes()
	for range 2 {
		if txt, err := c.LookupTXT(ctx, "huge.example"); err != nil || len(txt[0]) != 3000 {
			t.Fatalf("huge: %d %v", len(txt), err)
		}
	}
	if n := f.count("huge.example"); n != 2 || c.Bytes() != before {
		t.Errorf("huge answer asked %d times (want 2), cache %d bytes (want %d): it was kept", n, c.Bytes(), before)
	}
}

// A caller that gives up does not fail the others waiting for the same
// query: the query runs detached from it.
func TestSharedQuerySurvivesCancel(t *testing.T) {
	f := newFake()
	f.answers["slow.example"] = []string{"answer"}
	release := make(chan struct{})
	f.block["slow.example"] = release
	c := &Cache{Upstream: f}
	joined := make(chan struct{})
	c.joined = func() { close(joined) }

	ctx1, cancel1 := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, err := c.LookupTXT(ctx1, "slow.example"); first <- err }()
	<-f.started
	second := make(chan []string, 1)
	go func() {
		txt, err := c.LookupTXT(context.Background(), "slow.example")
		if err != nil {
			t.Errorf("the other waiter: %v", err)
		}
		second <- txt
	}()
	<-joined
	cancel1()
	var de *net.DNSError
	if err := <-first; !errors.As(err, &de) || !de.IsTemporary {
		t.Errorf("the caller that gave up: %v, want a temporary error", err)
	}
	close(release)
	if txt := <-second; len(txt) != 1 || txt[0] != "answer" {
		t.Errorf("the other waiter got %q", txt)
	}
	if n := f.count("slow.example"); n != 1 {
		t.Errorf("asked %d times, want 1", n)
	}
	// The answer was cached for the next caller.
	if txt, err := c.LookupTXT(context.Background(), "slow.example"); err != nil || txt[0] != "answer" || f.count("slow.example") != 1 {
		t.Errorf("after: %q %v, asked %d times", txt, err, f.count("slow.example"))
	}
}

// The shared query has its own deadline.
func TestSharedQueryTimeout(t *testing.T) {
	f := newFake()
	f.block["stuck.example"] = make(chan struct{}) // never released
	c := &Cache{Upstream: f, QueryTimeout: time.Millisecond}
	_, err := c.LookupTXT(context.Background(), "stuck.example")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsTimeout {
		t.Errorf("%v, want a timeout", err)
	}
	<-f.started
}
