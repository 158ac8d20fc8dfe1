package qmgr

import (
	"context"
	"testing"
	"time"
)

func TestWindowSlowStart(t *testing.T) {
	w := newWindow(20)
	ctx := context.Background()
	for range 5 {
		if !w.acquire(ctx) {
			t.Fatal("acquire failed")
		}
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if w.acquire(short) {
		t.Fatal("a sixth delivery started before any succeeded: no slow start")
	}
	w.release(true, false) // one success: the window grows to 6
	for range 2 {          // the freed slot and the new one
		if !w.acquire(ctx) {
			t.Fatal("the window did not grow after a success")
		}
	}
	for range 6 {
		w.release(false, true) // failures shrink it, never below 1
	}
	if w.size != 1 || w.busy != 0 {
		t.Fatalf("after failures: size %d busy %d", w.size, w.busy)
	}
	for range 30 {
		w.acquire(ctx)
		w.release(true, false)
	}
	if w.size != 20 {
		t.Errorf("window %d after many successes, want the limit 20", w.size)
	}
	w.setLimit(3)
	if w.size != 3 {
		t.Errorf("after setLimit(3): %d", w.size)
	}
	if newWindow(2).size != 2 {
		t.Error("the initial window exceeds a small limit")
	}
}

// Slots go to waiters in arrival order, one per release, and a waiter
// whose context ends leaves the queue without taking a slot.
func TestWindowHandsSlotsInOrder(t *testing.T) {
	w := newWindow(1)
	ctx := context.Background()
	w.acquire(ctx)
	gone, cancel := context.WithCancel(ctx)
	order := make(chan int, 3)
	start := func(i int, ctx context.Context) {
		go func() {
			if w.acquire(ctx) {
				order <- i
			} else {
				order <- -i
			}
		}()
		for { // wait until it queues, so that the order is known
			w.mu.Lock()
			n := len(w.waiters)
			w.mu.Unlock()
			if n == i {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	start(1, ctx)
	start(2, gone)
	start(3, ctx)
	cancel()
	if got := <-order; got != -2 {
		t.Fatalf("first event %d, want the cancelled waiter 2 to give up", got)
	}
	for _, want := range []int{1, 3} {
		w.release(false, false)
		select {
		case got := <-order:
			if got != want {
				t.Fatalf("slot went to waiter %d, want %d", got, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("waiter %d never got the slot", want)
		}
	}
	if w.busy != 1 || len(w.waiters) != 0 {
		t.Errorf("busy %d, %d waiting; want 1, 0", w.busy, len(w.waiters))
	}
}
