package anvil

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
)

func TestCounts(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	mapped := netip.MustParseAddr("::ffff:192.0.2.1")
	steps := []struct {
		op      string // "c" connect, "d" disconnect
		service string
		addr    netip.Addr
		want    int // Connect's result, or the count after Disconnect
	}{
		{"c", "smtp", a, 1},
		{"c", "smtp", a, 2},
		{"c", "smtp", mapped, 3}, // an IPv4-mapped address is the same client
		{"c", "submission", a, 1},
		{"c", "smtp", b, 1},
		{"d", "smtp", a, 2},
		{"d", "smtp", mapped, 1},
		{"d", "smtp", a, 0},
		{"d", "smtp", b, 0},
		{"d", "submission", a, 0},
	}
	c := New()
	for i, s := range steps {
		var got int
		if s.op == "c" {
			got = c.Connect(s.service, s.addr)
		} else {
			c.Disconnect(s.service, s.addr)
			got = c.Count(s.service, s.addr)
		}
		if got != s.want {
			t.Fatalf("step %d (%s %s %s): %d, want %d", i, s.op, s.service, s.addr, got, s.want)
		}
	}
	if n := c.Clients(); n != 0 {
		t.Errorf("%d clients left after every disconnect", n)
	}
}

// Concurrent connects and disconnects balance out.
func TestConcurrent(t *testing.T) {
	c := New()
	addr := netip.MustParseAddr("198.51.100.7")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				c.Connect("smtp", addr)
				c.Disconnect("smtp", addr)
			}
		}()
	}
	wg.Wait()
	if n := c.Count("smtp", addr); n != 0 || c.Clients() != 0 {
		t.Errorf("count %d, clients %d after balanced use", n, c.Clients())
	}
}

// BenchmarkConnectDisconnect is the per-session cost: one Connect and
// one Disconnect, with 1,000 other clients connected.
func BenchmarkConnectDisconnect(b *testing.B) {
	c := New()
	for i := 0; i < 1000; i++ {
		c.Connect("smtp", netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}))
	}
	addr := netip.MustParseAddr("192.0.2.1")
	for b.Loop() {
		c.Connect("smtp", addr)
		c.Disconnect("smtp", addr)
	}
}

// BenchmarkConnectDisconnectParallel is the same from every CPU at
// once, each goroutine a client of its own.
func BenchmarkConnectDisconnectParallel(b *testing.B) {
	c := New()
	var next atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		n := next.Add(1)
		addr := netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)})
		for pb.Next() {
			c.Connect("smtp", addr)
			c.Disconnect("smtp", addr)
		}
	})
}
