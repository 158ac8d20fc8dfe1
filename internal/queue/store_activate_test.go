package queue

import (
	"errors"
	"testing"
)

// Activate and Finish are the queue manager's fsync-free Move and Remove:
// they do the same to the files, and Activate only starts from incoming
// or deferred, the queues recovery (or the deferred scan) brings back.
func TestActivateAndFinish(t *testing.T) {
	s := openStore(t, t.TempDir())
	id := enqueue(t, s, fullEnvelope(), "Subject: x\r\n\r\nx\r\n")
	if err := s.Activate(id, Incoming); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(Active, id); err != nil {
		t.Fatalf("not in active: %v", err)
	}
	if err := s.Activate(id, Incoming); !errors.Is(err, ErrExists) {
		t.Errorf("second Activate: %v, want ErrExists", err)
	}
	if err := s.Move(id, Active, Hold); err != nil {
		t.Fatal(err)
	}
	if err := s.Activate(id, Hold); err == nil {
		t.Error("Activate from hold: no error (held mail must stay held)")
	}
	s.Move(id, Hold, Active)
	if err := s.Finish(Active, id); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.List(Active); len(ids) != 0 {
		t.Errorf("active after Finish: %v", ids)
	}
	if err := s.Finish(Active, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Finish: %v, want ErrNotFound", err)
	}
}
