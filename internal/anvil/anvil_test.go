package anvil

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func cl(service, addr string) Client {
	return NewClient(service, netip.MustParseAddr(addr), 64)
}

func TestCounts(t *testing.T) {
	steps := []struct {
		op     string // "c" connect, "d" disconnect
		client Client
		want   int // Connect's count, or the count after Disconnect
	}{
		{"c", cl("smtp", "192.0.2.1"), 1},
		{"c", cl("smtp", "192.0.2.1"), 2},
		{"c", cl("smtp", "::ffff:192.0.2.1"), 3}, // an IPv4-mapped address is the same client
		{"c", cl("submission", "192.0.2.1"), 1},
		{"c", cl("smtp", "2001:db8::1"), 1},
		{"c", cl("smtp", "2001:db8::2:1"), 2}, // the same /64
		{"c", cl("smtp", "2001:db8:0:1::1"), 1},
		{"d", cl("smtp", "192.0.2.1"), 2},
		{"d", cl("smtp", "::ffff:192.0.2.1"), 1},
		{"d", cl("smtp", "192.0.2.1"), 0},
		{"d", cl("smtp", "2001:db8::1"), 1},
		{"d", cl("smtp", "2001:db8::ffff:1"), 0},
		{"d", cl("smtp", "2001:db8:0:1::1"), 0},
		{"d", cl("submission", "192.0.2.1"), 0},
	}
	c := New()
	for i, s := range steps {
		var got int
		if s.op == "c" {
			got, _ = c.Connect(s.client, t0, time.Minute)
		} else {
			c.Disconnect(s.client)
			got = c.Count(s.client)
		}
		if got != s.want {
			t.Fatalf("step %d (%s %s): %d, want %d", i, s.op, s.client, got, s.want)
		}
	}
	// Disconnected clients are swept once their window ended.
	c.Connect(cl("smtp", "198.51.100.1"), t0.Add(2*time.Minute), time.Minute)
	if n := c.Clients(); n != 1 {
		t.Errorf("%d clients left after every disconnect, want 1", n)
	}
}

// TestNewClient: IPv6 addresses are grouped by anvil_ipv6_prefix_length;
// IPv4 and 128 bits are single addresses.
func TestNewClient(t *testing.T) {
	for _, c := range []struct {
		addr string
		bits int
		want string
	}{
		{"192.0.2.1", 64, "smtp:192.0.2.1"},
		{"::ffff:192.0.2.1", 64, "smtp:192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", 64, "smtp:2001:db8:1:2::/64"},
		{"2001:db8:1:2:3:4:5:6", 48, "smtp:2001:db8:1::/48"},
		{"2001:db8:1:2:3:4:5:6", 128, "smtp:2001:db8:1:2:3:4:5:6"},
	} {
		if got := NewClient("smtp", netip.MustParseAddr(c.addr), c.bits).String(); got != c.want {
			t.Errorf("NewClient(%s, %d) = %s, want %s", c.addr, c.bits, got, c.want)
		}
	}
}

// Concurrent connects and disconnects balance out.
func TestConcurrent(t *testing.T) {
	c := New()
	client := cl("smtp", "198.51.100.7")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				c.Connect(client, t0, time.Minute)
				c.Disconnect(client)
			}
		}()
	}
	wg.Wait()
	if n := c.Count(client); n != 0 {
		t.Errorf("count %d after balanced use", n)
	}
}

// BenchmarkConnectDisconnect is the per-session cost: one Connect and
// one Disconnect, with 1,000 other clients connected.
func BenchmarkConnectDisconnect(b *testing.B) {
	c := New()
	now := time.Now()
	for i := 0; i < 1000; i++ {
		c.Connect(NewClient("smtp", netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 64), now, time.Minute)
	}
	client := cl("smtp", "192.0.2.1")
	for b.Loop() {
		c.Connect(client, now, time.Minute)
		c.Disconnect(client)
	}
}

// BenchmarkConnectDisconnectParallel is the same from every CPU at
// once, each goroutine a client of its own.
func BenchmarkConnectDisconnectParallel(b *testing.B) {
	c := New()
	var next atomic.Int32
	now := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		n := next.Add(1)
		client := NewClient("smtp", netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)}), 64)
		for pb.Next() {
			c.Connect(client, now, time.Minute)
			c.Disconnect(client)
		}
	})
}
