package qmgr

import (
	"context"
	"sync"
)

// window is one destination's concurrency, with Postfix's slow start: a
// new destination gets initial_destination_concurrency (5) deliveries at
// once, each successful one widens the window by one up to the
// destination's limit, and a delivery that cannot reach it narrows the
// window by one (never below one), so that a struggling server is not
// hammered while a healthy one soon gets the full concurrency.
type window struct {
	mu    sync.Mutex
	wake  chan struct{} // closed and replaced whenever a slot may be free
	busy  int
	size  int
	limit int
}

// initialWindow is Postfix's initial_destination_concurrency.
const initialWindow = 5

func newWindow(limit int) *window {
	limit = max(limit, 1)
	return &window{wake: make(chan struct{}), size: min(initialWindow, limit), limit: limit}
}

// acquire waits for a slot, or until ctx ends (false).
func (w *window) acquire(ctx context.Context) bool {
	for {
		w.mu.Lock()
		if w.busy < w.size {
			w.busy++
			w.mu.Unlock()
			return true
		}
		wake := w.wake
		w.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return false
		}
	}
}

// release frees a slot and adjusts the window by the outcome.
func (w *window) release(success, failure bool) {
	w.mu.Lock()
	w.busy--
	switch {
	case success:
		w.size = min(w.size+1, w.limit)
	case failure:
		w.size = max(w.size-1, 1)
	}
	close(w.wake)
	w.wake = make(chan struct{})
	w.mu.Unlock()
}

// setLimit follows a changed limit (reload).
func (w *window) setLimit(limit int) {
	w.mu.Lock()
	w.limit = max(limit, 1)
	w.size = min(w.size, w.limit)
	w.mu.Unlock()
}
