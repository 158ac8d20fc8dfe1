package sendlimit

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestCounterWindows(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := &Counter{Now: clk.Now}
	rules := []Rule{{Max: 2, Per: time.Hour}, {Max: 3, Rcpt: true, Per: time.Minute}}
	steps := []struct {
		advance time.Duration
		key     string
		rcpt    bool
		n       int
		ok      bool
	}{
		{0, "alice", false, 1, true},
		{0, "alice", false, 1, true},
		{0, "alice", false, 1, false}, // third message in the hour
		{0, "bob", false, 1, true},    // another key, its own window
		{0, "alice", true, 2, true},   // recipients count apart
		{0, "alice", true, 2, false},  // 4 > 3: nothing counted
		{0, "alice", true, 1, true},   // so 3 still fits
		{59 * time.Second, "alice", true, 1, false},
		{time.Second, "alice", true, 3, true},  // the minute ended
		{0, "alice", true, 4, false},           // more than Max at once
		{time.Minute, "alice", true, 4, false}, // even when the window ended
		{0, "alice", true, 3, true},
		{57 * time.Minute, "alice", false, 1, false},
		{time.Minute, "alice", false, 1, true}, // the hour ended
		{0, "alice", false, 1, true},
		{0, "alice", false, 1, false},
	}
	for i, s := range steps {
		clk.Add(s.advance)
		msgs, rcpts := s.n, 0
		if s.rcpt {
			msgs, rcpts = 0, s.n
		}
		if _, ok := c.Take(s.key, msgs, rcpts, rules); ok != s.ok {
			t.Fatalf("step %d (%+v): ok = %v", i, s, ok)
		}
	}
}

// Expired windows are swept once sweepEvery new ones have been opened.
func TestCounterSweep(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	c := &Counter{Now: clk.Now}
	rules := []Rule{{Max: 1, Per: time.Second}}
	for i := 0; i < sweepEvery-1; i++ {
		c.Take(UIDKey(i), 1, 0, rules)
	}
	clk.Add(time.Second)
	c.Take("last", 1, 0, rules)
	if n := c.Len(); n != 1 {
		t.Fatalf("%d windows left, want 1", n)
	}
}

// Concurrent takers of one key get exactly Max between them.
func TestCounterConcurrent(t *testing.T) {
	c := &Counter{}
	rules := []Rule{{Max: 37, Per: time.Hour}}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, yes := c.Take("k", 1, 0, rules); yes {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 37 {
		t.Fatalf("%d accepted, want 37", ok.Load())
	}
}

// A single message over a rule's Max is refused whatever the window:
// before any, within one, and once one has expired (review 16, 3).
func TestCounterOverMaxAtOnce(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	c := &Counter{Now: clk.Now}
	rules := []Rule{{Max: 100, Rcpt: true, Per: time.Hour}}
	if _, ok := c.Take("uid:33", 1, 5000, rules); ok {
		t.Fatal("5000 recipients accepted with no window open")
	}
	if _, ok := c.Take("uid:33", 1, 1, rules); !ok {
		t.Fatal("1 recipient refused")
	}
	if _, ok := c.Take("uid:33", 1, 5000, rules); ok {
		t.Fatal("5000 recipients accepted within the window")
	}
	clk.Add(time.Hour)
	if r, ok := c.Take("uid:33", 1, 5000, rules); ok || r != rules[0] {
		t.Fatalf("5000 recipients after the window: %v %v, want refused by %v", r, ok, rules[0])
	}
	if _, ok := c.Take("uid:33", 1, 100, rules); !ok {
		t.Fatal("100 recipients refused in a new window")
	}
}

// Take counts a message and its recipients all or nothing: refused on
// the message limit, its recipients are not counted either, and the
// other way round (review 16, 8).
func TestCounterTakeBoth(t *testing.T) {
	c := &Counter{}
	rules := []Rule{{Max: 2, Per: time.Hour}, {Max: 5, Rcpt: true, Per: time.Hour}}
	steps := []struct {
		msgs, rcpts int
		ok          bool
		rule        Rule
	}{
		{1, 2, true, Rule{}},
		{1, 4, false, rules[1]}, // 6 recipients: the message is not counted
		{1, 3, true, Rule{}},    // so a second message fits: 2 messages, 5 recipients
		{1, 0, false, rules[0]},
		{0, 1, false, rules[1]},
	}
	for i, s := range steps {
		if r, ok := c.Take("k", s.msgs, s.rcpts, rules); ok != s.ok || r != s.rule {
			t.Fatalf("step %d (%+v): %v %v", i, s, r, ok)
		}
	}
	c = &Counter{}
	c.Take("k", 1, 0, rules)
	c.Take("k", 1, 0, rules)
	if _, ok := c.Take("k", 1, 3, rules); ok {
		t.Fatal("third message accepted")
	}
	if _, ok := c.Take("k", 0, 5, rules); !ok {
		t.Fatal("the refused message's recipients were counted")
	}
}

type mapTable map[string]string

func (m mapTable) Lookup(k string) (string, bool, error) { v, ok := m[k]; return v, ok, nil }

func TestLimiterMatch(t *testing.T) {
	l := &Limiter{Spec: "test:t", Tables: []Table{mapTable{"alice": "1/h", "example.com": "2/h", "uid:0": "bad"}}, Counter: &Counter{}}
	if v, err := l.Message("alice", "example.com"); err != nil || v.Key != "alice" || v.Over {
		t.Fatalf("alice: %+v %v", v, err)
	}
	if v, _ := l.Message("alice", "example.com"); !v.Over || v.Rule.String() != "1/1h" {
		t.Fatalf("alice again: %+v", v)
	}
	if v, _ := l.Message("", SenderKey("Bob@Example.COM")); v.Key != "example.com" || v.Over {
		t.Fatalf("domain: %+v", v)
	}
	if v, err := l.Message("nobody", "other.test"); err != nil || v.Key != "" {
		t.Fatalf("unlisted: %+v %v", v, err)
	}
	// With a catch-all, every sender no key finds shares its budget.
	l.Tables = append(l.Tables, mapTable{CatchAll: "2/h"})
	for i, keys := range [][]string{{"nobody", "other.test"}, {"nobody", SenderKey("")}, {"uid:7", SenderKey("x@z.example")}} {
		v, err := l.Message(keys...)
		if err != nil || v.Key != CatchAll || v.Over != (i == 2) {
			t.Fatalf("%v: %+v %v", keys, v, err)
		}
	}
	if _, err := l.Message(UIDKey(0)); err == nil {
		t.Fatal("a bad value is no error")
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct{ sender, want string }{
		{"", "<>"},
		{"Bob@Example.COM", "example.com"},
		{"postmaster", ""},
		{"a@b@Example.org", "example.org"},
		{"x@[192.0.2.1]", "[192.0.2.1]"},
		{"x@[IPv6:2001:db8::1]", "[ipv6:2001:db8::1]"},
		{"x@*", ""},
		{"x@<>", ""},
		{"x@uid:0", ""},
		{"x@client:127.0.0.1", ""},
	} {
		if got := SenderKey(tc.sender); got != tc.want {
			t.Errorf("SenderKey(%q) = %q, want %q", tc.sender, got, tc.want)
		}
	}
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7", "client:192.0.2.7"},
		{"::ffff:192.0.2.7", "client:192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "client:2001:db8:1:2::/64"},
		{"2001:DB8:1:2::9", "client:2001:db8:1:2::/64"},
		{"fe80::1%eth0", "client:fe80::/64"},
		{"::1", "client:::/64"},
	} {
		if got := ClientKey(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("ClientKey(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
