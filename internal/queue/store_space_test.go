package queue

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
)

// A shortage is reported First once, by the first refusal, until the
// store finds room again; ENOSPC from a write counts as the same
// shortage.
func TestShortageIsFirstOnce(t *testing.T) {
	s := openStore(t, t.TempDir())
	id := enqueue(t, s, fullEnvelope(), "x")
	s.SetSpaceLimits(1000, 0)
	free := int64(999)
	s.freeSpace = func() (int64, error) { return free, nil }
	enq := func() error {
		_, err := s.Enqueue(context.Background(), fullEnvelope(), strings.NewReader("x"))
		return err
	}
	update := func() error { // no free-space check: only the write fails
		s.fault = failOn("write", Incoming, syscall.ENOSPC)
		defer func() { s.fault = nil }()
		return s.Update(Incoming, id, map[int]RcptStatus{0: {State: Sent}})
	}
	steps := []struct {
		free        int64
		op          func() error
		ok, first   bool
		description string
	}{
		{999, enq, false, true, "first refusal"},
		{999, enq, false, false, "second refusal"},
		{999, update, false, false, "ENOSPC during the same shortage"},
		{5000, enq, true, false, "room again"},
		{5000, update, false, true, "ENOSPC starts a new shortage"},
		{999, enq, false, false, "a refusal during it"},
	}
	for _, st := range steps {
		free = st.free
		err := st.op()
		if (err == nil) != st.ok || (err != nil && !errors.Is(err, ErrNoSpace)) || FirstShortage(err) != st.first {
			t.Errorf("%s: %v, FirstShortage %v, want ok %v first %v", st.description, err, FirstShortage(err), st.ok, st.first)
		}
	}
}

// SetSpaceLimits changes the rule at once (a reload).
func TestSetSpaceLimits(t *testing.T) {
	s := openStore(t, t.TempDir())
	s.freeSpace = func() (int64, error) { return 1_000_000, nil }
	if err := s.CheckSpace(0); err != nil {
		t.Fatal(err)
	}
	s.SetSpaceLimits(0, 1_000_000) // 1.5 × message_size_limit > free
	if err := s.CheckSpace(0); !errors.Is(err, ErrNoSpace) {
		t.Errorf("message_size_limit raised: %v", err)
	}
	s.SetSpaceLimits(2_000_000, 0)
	if err := s.CheckSpace(0); !errors.Is(err, ErrNoSpace) {
		t.Errorf("queue_minfree raised: %v", err)
	}
	s.SetSpaceLimits(0, 100_000)
	if err := s.CheckSpace(0); err != nil {
		t.Errorf("limits lowered: %v", err)
	}
}
