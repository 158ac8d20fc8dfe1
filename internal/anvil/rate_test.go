package anvil

import (
	"testing"
	"time"
)

// TestRates: every rate is counted per client in one window of
// anvil_rate_time_unit that starts at the client's first event, as
// Postfix's anvil counts them; a window's end restarts all of them.
func TestRates(t *testing.T) {
	a, b := cl("smtp", "192.0.2.1"), cl("smtp", "192.0.2.2")
	v6, v6b := cl("smtp", "2001:db8::1"), cl("smtp", "2001:db8::99")
	steps := []struct {
		at     time.Duration
		client Client
		event  Event
		want   int
	}{
		{0, a, Conn, 1},
		{time.Second, a, Conn, 2},
		{time.Second, a, Mail, 1},
		{time.Second, a, Mail, 2},
		{time.Second, a, Rcpt, 1},
		{time.Second, a, NewTLS, 1},
		{time.Second, a, Auth, 1},
		{2 * time.Second, cl("smtp", "::ffff:192.0.2.1"), Mail, 3}, // the same client
		{2 * time.Second, cl("submission", "192.0.2.1"), Mail, 1},
		{3 * time.Second, b, Rcpt, 1},
		{3 * time.Second, v6, Rcpt, 1},
		{3 * time.Second, v6b, Rcpt, 2}, // the same /64
		{60 * time.Second, a, Mail, 4},  // still the first window
		{61 * time.Second, a, Rcpt, 1},  // a new one: every rate restarts
		{62 * time.Second, a, Mail, 1},
		{62 * time.Second, a, Conn, 1},
		{64 * time.Second, b, Rcpt, 1}, // b's window (3s to 63s) ended
	}
	c := New()
	for i, s := range steps {
		now := t0.Add(s.at)
		var got int
		if s.event == Conn {
			_, got = c.Connect(s.client, now, time.Minute)
			c.Disconnect(s.client)
		} else {
			got = c.Event(s.client, s.event, now, time.Minute)
		}
		if got != s.want {
			t.Fatalf("step %d (%v %s %d): %d, want %d", i, s.at, s.client, s.event, got, s.want)
		}
	}
	// Rate reads without counting, and sees an ended window as zero.
	if n := c.Rate(a, Mail, t0.Add(63*time.Second), time.Minute); n != 1 {
		t.Errorf("Rate: %d, want 1", n)
	}
	if n := c.Rate(a, Mail, t0.Add(63*time.Second), time.Minute); n != 1 {
		t.Errorf("Rate counted: %d, want 1", n)
	}
	if n := c.Rate(a, Mail, t0.Add(3*time.Minute), time.Minute); n != 0 {
		t.Errorf("Rate after the window: %d, want 0", n)
	}
	// Much later, one more event sweeps the ended windows.
	c.Event(b, Auth, t0.Add(10*time.Minute), time.Minute)
	if n := c.Clients(); n != 1 {
		t.Errorf("%d clients kept, want 1", n)
	}
}

// A connected client is kept past its window: its count must survive.
func TestConnectedKept(t *testing.T) {
	c := New()
	a := cl("smtp", "192.0.2.1")
	c.Connect(a, t0, time.Minute)
	c.Event(cl("smtp", "192.0.2.9"), Mail, t0.Add(5*time.Minute), time.Minute)
	if n := c.Count(a); n != 1 {
		t.Fatalf("count %d after a sweep, want 1", n)
	}
	if _, r := c.Connect(a, t0.Add(5*time.Minute), time.Minute); r != 1 {
		t.Errorf("rate %d in a new window, want 1", r)
	}
}
