package master

import (
	"sync/atomic"
	"time"
)

// workers runs sessions on goroutines that have served one before: a
// session's stack grows to tens of KB (it parses, checks policy and may
// deliver on it), and each new goroutine would grow it again, copying
// it each time it doubles. A worker that finds no session for
// workerIdle ends.
type workers struct {
	work    chan func()  // unbuffered: a send succeeds only to an idle worker
	started atomic.Int64 // workers started, for tests
	idle    atomic.Int64 // workers waiting for a session, for tests
}

const workerIdle = 10 * time.Second

func newWorkers() *workers { return &workers{work: make(chan func())} }

// run runs f on an idle worker, or on a new one.
func (w *workers) run(f func()) {
	select {
	case w.work <- f:
	default:
		w.started.Add(1)
		go w.loop(f)
	}
}

func (w *workers) loop(f func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		f = nil // nothing of the last session stays reachable
		idle.Reset(workerIdle)
		w.idle.Add(1)
		select {
		case f = <-w.work:
			w.idle.Add(-1)
		case <-idle.C:
			w.idle.Add(-1)
			return
		}
	}
}
