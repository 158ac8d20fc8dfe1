package anvil

import (
	"net/netip"
	"testing"
	"time"
)

// TestAuthRate: AUTH commands are counted per service and address in
// windows of anvil_rate_time_unit that start at a client's first
// command, as Postfix's anvil counts them; ended windows are forgotten.
func TestAuthRate(t *testing.T) {
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	mapped := netip.MustParseAddr("::ffff:192.0.2.1")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	unit := time.Minute
	steps := []struct {
		at      time.Duration
		service string
		addr    netip.Addr
		want    int
	}{
		{0, "smtp", a, 1},
		{time.Second, "smtp", a, 2},
		{2 * time.Second, "smtp", mapped, 3}, // the same client
		{2 * time.Second, "submission", a, 1},
		{3 * time.Second, "smtp", b, 1},
		{60 * time.Second, "smtp", a, 4}, // still the first window
		{61 * time.Second, "smtp", a, 1}, // a new one
		{62 * time.Second, "smtp", a, 2},
		{64 * time.Second, "smtp", b, 1}, // b's window (3s to 63s) ended
	}
	c := New()
	for i, s := range steps {
		if got := c.Auth(s.service, s.addr, t0.Add(s.at), unit); got != s.want {
			t.Fatalf("step %d (%v %s %s): %d, want %d", i, s.at, s.service, s.addr, got, s.want)
		}
	}
	// Much later, one more command sweeps the ended windows.
	c.Auth("smtp", b, t0.Add(10*time.Minute), unit)
	if n := c.RateClients(); n != 1 {
		t.Errorf("%d windows kept, want 1", n)
	}
}
