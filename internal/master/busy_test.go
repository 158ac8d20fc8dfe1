package master

import (
	"testing"
	"time"
)

// Begin waits for a busy slot until its deadline only; a slot freed in
// the meantime is taken.
func TestBusyGateDeadline(t *testing.T) {
	b := busyGate{newGate(1)}
	if !b.Begin(time.Now().Add(time.Hour)) {
		t.Fatal("first Begin refused")
	}
	if b.Begin(time.Now().Add(50 * time.Millisecond)) {
		t.Fatal("second Begin got a slot the first holds")
	}
	got := make(chan bool)
	go func() { got <- b.Begin(time.Now().Add(time.Hour)) }()
	b.End()
	if !<-got {
		t.Fatal("Begin did not get the slot freed")
	}
}
