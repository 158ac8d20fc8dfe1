// Package fsyncgroup shares one fsync among concurrent callers (group
// commit). An fsync of a directory makes durable every link, rename and
// unlink done in it before the fsync started; so callers that finish
// their renames while an fsync is running join the next batch, and that
// batch's one fsync answers them all. The queue uses it for its
// directories and local delivery for the Maildirs' new/ directories.
//
// A batch's leader may wait a little (Gather) for company before it
// syncs. When it waits depends on what the group knows about its
// callers: a group whose callers announce themselves (Expect) waits only
// while an announced caller is still on its way, so that a lone caller
// (one SMTP session sending message after message) never waits for
// company that cannot come; a group whose callers do not announce
// themselves waits whenever it is busy (it synced lately).
package fsyncgroup

import (
	"sync"
	"time"
)

// Group is the callers syncing one directory (or file). The zero value
// is ready to use and gathers for DefaultGather.
type Group struct {
	// Gather is how long a batch's leader waits for company before it
	// syncs, when the group is busy (it synced within the last ten
	// Gathers): under load a few callers more per fsync saves more than
	// the wait costs (measured: a quarter more messages per second end
	// to end, a fifth less CPU each), while an idle group syncs at once.
	// Zero means DefaultGather, negative none. In a group that has had
	// an Expect, a leader gathers only while announced callers are on
	// their way, and stops as soon as they have all come.
	Gather time.Duration

	mu      sync.Mutex
	open    *batch        // callers waiting for an fsync that has not started
	busy    bool          // a leader is gathering or syncing
	last    time.Time     // when the last sync ended
	tracked bool          // callers announce themselves (Expect)
	coming  int           // announced callers that have not called Do or Cancel
	arrived chan struct{} // closed when coming drops to 0 while a leader gathers

	// wait is how a leader gathers: until d has passed or arrived is
	// closed. Tests replace it to count gathers without timing them.
	wait func(d time.Duration, arrived <-chan struct{})
}

// DefaultGather is Group.Gather's default.
const DefaultGather = time.Millisecond

type batch struct {
	sync func() error // the first caller's: every caller's syncs the same thing
	done chan struct{}
	err  error
}

// Do returns once a sync that started after the call has finished, with
// its error: a failed sync fails every caller of its batch. sync is how
// this caller would sync the directory (its own descriptor, say); one of
// a batch's callers' sync runs for the whole batch, while they all wait.
func (g *Group) Do(sync func() error) error {
	g.mu.Lock()
	return g.do(sync)
}

// do is Do with g.mu held; it unlocks it.
func (g *Group) do(sync func() error) error {
	if g.open == nil {
		g.open = &batch{sync: sync, done: make(chan struct{})}
	}
	b := g.open
	lead := !g.busy
	g.busy = true
	g.mu.Unlock()
	if lead {
		g.run(b)
	}
	<-b.done
	return b.err
}

// run gathers and syncs batch b, which stays open to new callers while
// it gathers, then hands the batch that formed during the sync, if any,
// to a new goroutine, so that a leader waits for its own fsync only.
func (g *Group) run(b *batch) {
	gather := g.Gather
	if gather == 0 {
		gather = DefaultGather
	}
	g.mu.Lock()
	var arrived chan struct{}
	switch {
	case gather < 0:
	case g.tracked:
		// Company is on its way only if someone announced it.
		if g.coming > 0 {
			arrived = make(chan struct{})
			g.arrived = arrived
		}
	case !g.last.IsZero() && time.Since(g.last) < 10*gather: // busy
		arrived = make(chan struct{}) // never closed: wait the whole Gather
	}
	g.mu.Unlock()
	if arrived != nil {
		wait := g.wait
		if wait == nil {
			wait = sleep
		}
		wait(gather, arrived)
	}
	g.mu.Lock()
	g.arrived = nil
	g.open = nil // from here on, callers form the next batch
	g.mu.Unlock()
	b.err = b.sync()
	close(b.done)
	g.mu.Lock()
	g.last = time.Now()
	next := g.open
	g.busy = next != nil
	g.mu.Unlock()
	if next != nil {
		go g.run(next)
	}
}

func sleep(d time.Duration, arrived <-chan struct{}) {
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-arrived:
		t.Stop()
	}
}

// Expect announces a caller that is on its way to Do: it has started
// the work that ends with a Do (writing the file whose name the sync is
// to make durable, say) and will call Expected.Do, or Expected.Cancel
// if that work fails. From a group's first Expect on, a batch's leader
// gathers only while announced callers are on their way (and no longer
// than Gather), so that a caller with no company syncs at once.
func (g *Group) Expect() Expected {
	g.mu.Lock()
	g.tracked = true
	g.coming++
	g.mu.Unlock()
	return Expected{g}
}

// Expected is an announced caller of a Group (Expect). Call exactly one
// of its methods, once.
type Expected struct{ g *Group }

// Do is Group.Do for the announced caller.
func (e Expected) Do(sync func() error) error {
	e.g.mu.Lock()
	e.g.arrive()
	return e.g.do(sync)
}

// Alone reports whether the announced caller has the group to itself:
// no other caller is announced, and no batch is gathering or syncing.
// Such a caller's sync would run at once and be its own.
func (e Expected) Alone() bool {
	e.g.mu.Lock()
	defer e.g.mu.Unlock()
	return e.g.coming <= 1 && !e.g.busy
}

// Cancel withdraws the announcement: the caller will not call Do.
func (e Expected) Cancel() {
	e.g.mu.Lock()
	e.g.arrive()
	e.g.mu.Unlock()
}

// arrive counts an announced caller in (g.mu held) and ends a leader's
// gathering when it was the last one on its way.
func (g *Group) arrive() {
	g.coming--
	if g.coming == 0 && g.arrived != nil {
		close(g.arrived)
		g.arrived = nil
	}
}

// Set is a Group per key (a directory's device and inode, say), kept
// while in use.
type Set[K comparable] struct {
	mu     sync.Mutex
	groups map[K]*member
}

type member struct {
	Group
	users int
}

// Do is Group.Do on key's group.
func (s *Set[K]) Do(key K, sync func() error) error {
	s.mu.Lock()
	if s.groups == nil {
		s.groups = map[K]*member{}
	}
	m := s.groups[key]
	if m == nil {
		m = &member{}
		s.groups[key] = m
	}
	m.users++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if m.users--; m.users == 0 {
			delete(s.groups, key)
		}
		s.mu.Unlock()
	}()
	return m.Do(sync)
}
