package sendlimit

import (
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
		{time.Second, "alice", true, 3, true}, // the minute ended
		{0, "alice", true, 4, false},          // more than Max at once
		{58 * time.Minute, "alice", false, 1, false},
		{time.Minute, "alice", false, 1, true}, // the hour ended
		{0, "alice", false, 1, true},
		{0, "alice", false, 1, false},
	}
	for i, s := range steps {
		clk.Add(s.advance)
		if _, ok := c.Take(s.key, s.rcpt, s.n, rules); ok != s.ok {
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
		c.Take(UIDKey(i), false, 1, rules)
	}
	clk.Add(time.Second)
	c.Take("last", false, 1, rules)
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
				if _, yes := c.Take("k", false, 1, rules); yes {
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
	if v, _ := l.Message("", SenderDomain("Bob@Example.COM")); v.Key != "example.com" || v.Over {
		t.Fatalf("domain: %+v", v)
	}
	if v, err := l.Message("nobody", "other.test"); err != nil || v.Key != "" {
		t.Fatalf("unlisted: %+v %v", v, err)
	}
	if _, err := l.Message(UIDKey(0)); err == nil {
		t.Fatal("a bad value is no error")
	}
}
