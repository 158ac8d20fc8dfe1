package master

import (
	"testing"
	"time"
)

// The gate's arithmetic: stress from the session that takes the last
// slot on, for stressHold after the limit was last reached; the warning
// at most once per stressHold; waiters woken by a free slot or a stop.
func TestGate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	never := func() bool { return false }
	g := newGate(2)
	steps := []struct {
		op           string // "enter", "leave", "wait"
		advance      time.Duration
		stress, warn bool
	}{
		{op: "enter"},                           // 1 of 2
		{op: "enter", stress: true, warn: true}, // the last slot: stress begins, logged
		{op: "leave"},
		{op: "enter", stress: true}, // at the limit again: not logged again
		{op: "leave"},
		{op: "leave", advance: stressHold - time.Second},
		{op: "enter", stress: true},             // still within the stress period
		{op: "leave", advance: 2 * time.Second}, // the period is over
		{op: "enter"},
		{op: "enter", stress: true, warn: true}, // a new episode is logged
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		switch s.op {
		case "enter":
			stress, warn, ok := g.enter(clock, never)
			if !ok || stress != s.stress || warn != s.warn {
				t.Fatalf("step %d: stress %v warn %v ok %v, want stress %v warn %v", i, stress, warn, ok, s.stress, s.warn)
			}
		case "leave":
			g.leave()
		}
	}
	// Full: a waiter is woken by a slot coming free.
	done := make(chan bool)
	go func() { done <- g.waitRoom(never) }()
	select {
	case <-done:
		t.Fatal("waitRoom returned while the gate was full")
	case <-time.After(50 * time.Millisecond):
	}
	g.leave()
	if !<-done {
		t.Fatal("waitRoom reported a stop")
	}
	// ... or by a stop.
	g.enter(clock, never)
	stopped := false
	go func() { done <- g.waitRoom(func() bool { return stopped }) }()
	stopped = true
	for {
		g.poke()
		select {
		case ok := <-done:
			if ok {
				t.Fatal("waitRoom returned room after a stop")
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}
