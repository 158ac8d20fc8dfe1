package master

import (
	"sync"
	"time"
)

// gate caps the sessions that run at once: one per master.cf service
// (maxproc, Postfix's process limit) and one for the whole daemon (the
// file descriptor budget). An accept loop waits for room before it
// accepts, so connections beyond the cap wait in the kernel's listen
// backlog, as they wait for a free smtpd process under Postfix's
// master; nothing is accepted only to be refused. Several sockets of
// one service each accept on their own, so after a slot frees two of
// them may accept at once: the second connection then waits, accepted
// but not greeted, until the next slot frees (at most one per socket).
//
// A session that takes the last slot starts Postfix's stress period:
// for the next stressHold every new session runs with stress = yes.
type gate struct {
	mu          sync.Mutex
	active      int
	limit       int           // 0: none
	wake        chan struct{} // closed (and replaced) when a slot frees or the limit changes
	waiting     bool          // someone waits on wake
	stressUntil time.Time
	warned      time.Time // when reaching the limit was last logged
}

// stressHold is how long stress lasts after the limit was last reached,
// and how often reaching it is logged: Postfix's master uses 1000 s
// for both.
const stressHold = 1000 * time.Second

func newGate(limit int) *gate { return &gate{limit: limit, wake: make(chan struct{})} }

func (g *gate) full() bool { return g.limit > 0 && g.active >= g.limit }

// waitRoom blocks until the gate has room or stop reports true (checked
// at every wake-up). It returns false when stopped.
func (g *gate) waitRoom(stop func() bool) bool {
	if !g.lockRoom(stop) {
		return false
	}
	g.mu.Unlock()
	return true
}

// lockRoom is waitRoom returning with g.mu held when there is room (and
// not held when stopped), so that enter takes the slot it saw.
func (g *gate) lockRoom(stop func() bool) bool {
	for {
		g.mu.Lock()
		if !g.full() {
			return true
		}
		wake := g.wake
		g.waiting = true
		g.mu.Unlock()
		<-wake
		if stop() {
			return false
		}
	}
}

// enter takes a slot, waiting for one if need be (see the type's doc).
// It reports whether the session runs under stress and whether this
// session reached the limit and should log it; ok is false when stop
// reported true while waiting.
func (g *gate) enter(now func() time.Time, stop func() bool) (stress, warn, ok bool) {
	if !g.lockRoom(stop) {
		return false, false, false
	}
	defer g.mu.Unlock()
	g.active++
	t := now()
	if g.limit > 0 && g.active >= g.limit {
		g.stressUntil = t.Add(stressHold)
		if g.warned.IsZero() || t.Sub(g.warned) >= stressHold {
			g.warned, warn = t, true
		}
	}
	return t.Before(g.stressUntil), warn, true
}

// isFull reports whether every slot is taken.
func (g *gate) isFull() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.full()
}

// leave gives a slot back.
func (g *gate) leave() {
	g.mu.Lock()
	g.active--
	g.signal()
	g.mu.Unlock()
}

// setLimit changes the limit (a reload); 0 means none.
func (g *gate) setLimit(n int) {
	g.mu.Lock()
	g.limit = n
	g.signal()
	g.mu.Unlock()
}

// poke wakes every waiter, to look at its stop condition.
func (g *gate) poke() {
	g.mu.Lock()
	g.signal()
	g.mu.Unlock()
}

func (g *gate) signal() {
	if g.waiting {
		close(g.wake)
		g.wake, g.waiting = make(chan struct{}), false
	}
}
