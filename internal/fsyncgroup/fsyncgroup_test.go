package fsyncgroup

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every caller returns only after a sync that started after it called;
// concurrent callers share syncs; a failed sync fails exactly its batch.
func TestGroup(t *testing.T) {
	var done, covered atomic.Int64 // renames done; renames covered by finished syncs
	var syncs atomic.Int64
	fail := atomic.Bool{}
	sync1 := func() error {
		snap := done.Load()
		syncs.Add(1)
		time.Sleep(2 * time.Millisecond)
		if fail.Load() {
			return errors.New("sync failed")
		}
		covered.Store(snap)
		return nil
	}
	var g Group
	const callers = 64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range 5 {
				mine := done.Add(1)
				if err := g.Do(sync1); err != nil {
					t.Error(err)
				}
				if covered.Load() < mine {
					t.Errorf("Do returned before rename %d was covered (%d)", mine, covered.Load())
				}
			}
		})
	}
	wg.Wait()
	if n := syncs.Load(); n >= callers*5/2 {
		t.Errorf("%d syncs for %d callers: not shared", n, callers*5)
	}
	fail.Store(true)
	for range 8 {
		wg.Go(func() {
			if err := g.Do(sync1); err == nil {
				t.Error("a failed sync was reported as success")
			}
		})
	}
	wg.Wait()
}

// Keys have groups of their own, which are forgotten when unused.
func TestSet(t *testing.T) {
	var s Set[string]
	var a, b atomic.Int64
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // holds key "a" busy
		s.Do("a", func() error { a.Add(1); <-release; return nil })
	})
	for a.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// "b" is not held up by the sync running for "a".
	if err := s.Do("b", func() error { b.Add(1); return nil }); err != nil || b.Load() != 1 {
		t.Fatalf("b: %v, %d syncs", err, b.Load())
	}
	close(release)
	wg.Wait()
	s.mu.Lock()
	n := len(s.groups)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d groups kept after use", n)
	}
}

// An idle group syncs at once; a busy one waits Gather for company, and
// callers that come meanwhile share the leader's sync.
func TestGather(t *testing.T) {
	var syncs atomic.Int64
	// A long gather, so that the second caller comes within it however
	// slow the machine; the test waits for the leader, not a time.
	g := &Group{Gather: time.Second}
	sync1 := func() error { syncs.Add(1); return nil }
	start := time.Now()
	g.Do(sync1)
	if d := time.Since(start); d > g.Gather/2 {
		t.Errorf("an idle group waited %v", d)
	}
	var wg sync.WaitGroup
	wg.Go(func() { g.Do(sync1) }) // busy now: this leader gathers
	for gathering := false; !gathering; {
		g.mu.Lock()
		gathering = g.busy
		g.mu.Unlock()
		runtime.Gosched()
	}
	wg.Go(func() { g.Do(sync1) })
	wg.Wait()
	if n := syncs.Load(); n != 2 {
		t.Errorf("%d syncs, want 2: the second caller did not join the gathering batch", n)
	}
}

// countGathers makes g's leaders record their gathers instead of waiting
// (so that the tests count, not time, them) and returns the count.
func countGathers(g *Group) *atomic.Int64 {
	n := new(atomic.Int64)
	g.wait = func(time.Duration, <-chan struct{}) { n.Add(1) }
	return n
}

// A group whose callers announce themselves gathers only while one is on
// its way: a lone caller, message after message, never waits, however
// busy the group (issue 19: one SMTP session waited a millisecond per
// message for company that could not come).
func TestExpectAlone(t *testing.T) {
	g := &Group{}
	gathers := countGathers(g)
	var syncs atomic.Int64
	sync1 := func() error { syncs.Add(1); return nil }
	for range 5 {
		if err := g.Expect().Do(sync1); err != nil {
			t.Fatal(err)
		}
	}
	if n := gathers.Load(); n != 0 {
		t.Errorf("a lone announced caller gathered %d times in 5 syncs", n)
	}
	// A caller that does not announce itself, in a group whose callers
	// do, finds nobody on the way either.
	g.Do(sync1)
	e := g.Expect()
	e.Cancel() // withdrawn: nobody on the way
	g.Do(sync1)
	if n := gathers.Load(); n != 0 || syncs.Load() != 7 {
		t.Errorf("%d gathers, %d syncs; want 0, 7", n, syncs.Load())
	}
}

// A leader gathers while an announced caller is on its way, and syncs as
// soon as it has come, without waiting out Gather.
func TestExpectCompany(t *testing.T) {
	g := &Group{Gather: time.Hour} // the test would time out if it waited
	var syncs atomic.Int64
	sync1 := func() error { syncs.Add(1); return nil }
	other := g.Expect() // on its way: writing its file, say
	var wg sync.WaitGroup
	wg.Go(func() { // the leader
		if err := g.Expect().Do(sync1); err != nil {
			t.Error(err)
		}
	})
	for gathering := false; !gathering; { // the leader waits for other
		g.mu.Lock()
		gathering = g.arrived != nil
		g.mu.Unlock()
		runtime.Gosched()
	}
	if err := other.Do(sync1); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if n := syncs.Load(); n != 1 {
		t.Errorf("%d syncs for two callers, want 1: the leader did not wait for the one on its way", n)
	}
}

// Without announcements a busy group still gathers (the Maildirs' new/
// directories, whose callers do not announce themselves).
func TestGatherUnannounced(t *testing.T) {
	g := &Group{}
	gathers := countGathers(g)
	sync1 := func() error { return nil }
	g.Do(sync1) // idle: at once
	g.Do(sync1) // busy: gathers
	if n := gathers.Load(); n != 1 {
		t.Errorf("%d gathers, want 1", n)
	}
}

// Alone: only an announced caller with nobody else announced and no batch
// gathering or syncing has the group to itself.
func TestExpectedAlone(t *testing.T) {
	g := &Group{Gather: time.Hour} // the test would time out if it waited
	a := g.Expect()
	if !a.Alone() {
		t.Error("the only announced caller is not alone")
	}
	b := g.Expect()
	if a.Alone() || b.Alone() {
		t.Error("two announced callers: one of them alone")
	}
	b.Cancel()
	if !a.Alone() {
		t.Error("alone again after the other withdrew: not so")
	}
	var syncs atomic.Int64
	sync1 := func() error { syncs.Add(1); return nil }
	var wg sync.WaitGroup
	wg.Go(func() { // a leader, gathering while a is on its way
		if err := g.Expect().Do(sync1); err != nil {
			t.Error(err)
		}
	})
	for gathering := false; !gathering; {
		g.mu.Lock()
		gathering = g.arrived != nil
		g.mu.Unlock()
		runtime.Gosched()
	}
	if a.Alone() {
		t.Error("alone while a batch gathers")
	}
	if err := a.Do(sync1); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	c := g.Expect()
	if !c.Alone() || syncs.Load() != 1 {
		t.Errorf("after the batch: alone %v, %d syncs; want true, 1", c.Alone(), syncs.Load())
	}
	c.Cancel()
}
