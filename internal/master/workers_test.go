package master

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// Sessions run at once however many there are, and a worker that has
// finished one serves the next instead of a new goroutine.
func TestWorkers(t *testing.T) {
	w := newWorkers()
	var all, release sync.WaitGroup
	release.Add(1)
	for range 5 { // all five run at once: none waits for another
		all.Add(1)
		w.run(func() { all.Done(); release.Wait() })
	}
	all.Wait()
	release.Done()
	if n := w.started.Load(); n != 5 {
		t.Fatalf("%d workers started for 5 concurrent sessions", n)
	}
	for range 10 {
		waitIdle(t, w, 5) // the five are idle now
		done := make(chan struct{})
		w.run(func() { close(done) })
		<-done
	}
	if n := w.started.Load(); n != 5 {
		t.Errorf("%d workers started in all, want the 5 reused", n)
	}
}

// waitIdle waits until n workers wait for a session.
func waitIdle(t *testing.T, w *workers, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); w.idle.Load() != n; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle workers after 10s, want %d", w.idle.Load(), n)
		}
	}
}
