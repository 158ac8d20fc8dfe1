package dnscache

import (
	"context"
	"errors"
	"fmt"
	"net"
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
