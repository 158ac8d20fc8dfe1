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
//
// Waiters queue in arrival order and a freed slot is handed to the first
// of them: a backlog of thousands of messages for one destination costs
// one wake-up per delivery, not one per waiter (a broadcast would wake
// them all for every slot, and the scheduler work grows with the square
// of the backlog).
type window struct {
	mu      sync.Mutex
	waiters []chan struct{} // closed when the slot is theirs
	busy    int
	size    int
	limit   int
}

// initialWindow is Postfix's initial_destination_concurrency.
const initialWindow = 5

func newWindow(limit int) *window {
	limit = max(limit, 1)
	return &window{size: min(initialWindow, limit), limit: limit}
}

// acquire waits for a slot, or until ctx ends (false).
func (w *window) acquire(ctx context.Context) bool {
	w.mu.Lock()
	if w.busy < w.size && len(w.waiters) == 0 {
		w.busy++
		w.mu.Unlock()
		return true
	}
	granted := make(chan struct{})
	w.waiters = append(w.waiters, granted)
	w.mu.Unlock()
	select {
	case <-granted:
		return true
	case <-ctx.Done():
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, c := range w.waiters {
		if c == granted {
			w.waiters = append(w.waiters[:i], w.waiters[i+1:]...)
			return false
		}
	}
	// Handed a slot just as ctx ended: pass it on.
	w.busy--
	w.grant()
	return false
}

// release frees a slot and adjusts the window by the outcome.
func (w *window) release(success, failure bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.busy--
	switch {
	case success:
		w.size = min(w.size+1, w.limit)
	case failure:
		w.size = max(w.size-1, 1)
	}
	w.grant()
}

// grant hands free slots to the first waiters. The caller holds w.mu.
func (w *window) grant() {
	for w.busy < w.size && len(w.waiters) > 0 {
		w.busy++
		close(w.waiters[0])
		w.waiters[0] = nil
		w.waiters = w.waiters[1:]
	}
}

// setLimit follows a changed limit (reload).
func (w *window) setLimit(limit int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.limit = max(limit, 1)
	w.size = min(w.size, w.limit)
	w.grant()
}
