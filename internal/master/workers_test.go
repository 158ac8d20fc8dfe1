package master

import (
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
	time.Sleep(20 * time.Millisecond) // the five are idle now
	for range 10 {
		done := make(chan struct{})
		w.run(func() { close(done) })
		<-done
		time.Sleep(time.Millisecond)
	}
	if n := w.started.Load(); n != 5 {
		t.Errorf("%d workers started in all, want the 5 reused", n)
	}
}
