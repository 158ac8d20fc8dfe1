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
