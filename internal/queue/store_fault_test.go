package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// failOn returns a fault that fails the given step with err, on files
// in the directory where or on that directory itself.
func failOn(op, where string, err error) fault {
	return func(o, path string) error {
		if o == op && (filepath.Base(filepath.Dir(path)) == where || filepath.Base(path) == where) {
			return err
		}
		return nil
	}
}

// A failure at any step of Enqueue returns an error and leaves no
// message and no temporary file; ENOSPC becomes ErrNoSpace.
func TestStoreEnqueueFailures(t *testing.T) {
	injected := errors.New("injected")
	tests := []struct {
		op, where string
		err       error
		noSpace   bool
	}{
		{"create", tmpDir, injected, false},
		{"write", tmpDir, injected, false},
		{"write", tmpDir, syscall.ENOSPC, true},
		{"write", tmpDir, syscall.EDQUOT, true},
		{"sync", tmpDir, injected, false},
		{"sync", tmpDir, syscall.ENOSPC, true},
		{"link", Incoming, injected, false},
		{"syncdir", Incoming, injected, false},
		{"syncdir", Incoming, syscall.EIO, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %v", tt.op, tt.where, tt.err), func(t *testing.T) {
			s := openStore(t, t.TempDir())
			s.fault = failOn(tt.op, tt.where, tt.err)
			body := strings.Repeat("x", 3*chunkSize) // several writes
			id, err := s.Enqueue(context.Background(), fullEnvelope(), strings.NewReader(body))
			if err == nil {
				t.Fatalf("Enqueue returned %s without error", id)
			}
			if !errors.Is(err, tt.err) || errors.Is(err, ErrNoSpace) != tt.noSpace {
				t.Errorf("error %v: is %v %v, is ErrNoSpace %v", err, tt.err, errors.Is(err, tt.err), errors.Is(err, ErrNoSpace))
			}
			assertEmpty(t, s)
			s.fault = nil // the store still works
			enqueue(t, s, fullEnvelope(), "after")
		})
	}
}

// The free-space rule: below queue_minfree or 1.5 × message_size_limit
// nothing is accepted; at the limit it is.
func TestStoreFreeSpaceRule(t *testing.T) {
	tests := []struct {
		free, minFree, limit int64
		ok                   bool
	}{
		{free: 1000, ok: true},
		{free: 0, ok: true}, // no limits configured
		{free: 999, minFree: 1000},
		{free: 1000, minFree: 1000, ok: true},
		{free: 14_999_999, minFree: 1000, limit: 10_000_000},
		{free: 15_000_000, minFree: 1000, limit: 10_000_000, ok: true},
		{free: 15_000_000, minFree: 20_000_000, limit: 10_000_000},
	}
	for _, tt := range tests {
		log, logged := captureLog()
		s, err := Open(t.TempDir(), Options{MinFree: tt.minFree, MessageSizeLimit: tt.limit, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		s.freeSpace = func() (int64, error) { return tt.free, nil }
		_, err = s.Enqueue(context.Background(), fullEnvelope(), strings.NewReader("x"))
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrNoSpace)) {
			t.Errorf("%+v: %v", tt, err)
		}
		if !tt.ok && (!strings.Contains(err.Error(), "not enough free space in mail queue") || !FirstShortage(err)) {
			t.Errorf("%+v: error %q, FirstShortage %v", tt, err, FirstShortage(err))
		}
		if l := logged(); l != "" { // the caller logs, under its own name
			t.Errorf("%+v: the store logged %q", tt, l)
		}
		if err := s.CheckSpace(0); (err == nil) != tt.ok {
			t.Errorf("%+v: CheckSpace(0) = %v", tt, err)
		}
		// A SIZE= announcement must fit on top of the reserve.
		if err := s.CheckSpace(tt.free + 1); !errors.Is(err, ErrNoSpace) {
			t.Errorf("%+v: CheckSpace(free+1) = %v", tt, err)
		}
	}
	var _ SpaceChecker = (*Store)(nil)
}

// Failed state updates return an error and leave the previous state; a
// failed move or removal reports it.
func TestStoreManagerFailures(t *testing.T) {
	injected := errors.New("injected")
	s := openStore(t, t.TempDir())
	id := enqueue(t, s, fullEnvelope(), "x")
	sent := RcptStatus{State: Sent, At: time.Unix(1, 0)}
	for _, op := range []string{"write", "sync", "truncate"} {
		s.fault = failOn(op, Incoming, injected)
		if err := s.Update(Incoming, id, map[int]RcptStatus{0: sent}); !errors.Is(err, injected) {
			t.Errorf("%s failure: Update returned %v", op, err)
		}
		s.fault = nil
		if m, err := s.Read(Incoming, id); err != nil || m.Status[0].State != Pending {
			t.Errorf("%s failure: state %+v, %v", op, m.Status, err)
		}
	}
	s.fault = failOn("write", Incoming, syscall.ENOSPC)
	if err := s.SetDelayWarned(Incoming, id); !errors.Is(err, ErrNoSpace) {
		t.Errorf("ENOSPC: %v", err)
	}
	s.fault = failOn("rename", Active, injected)
	if err := s.Move(id, Incoming, Active); !errors.Is(err, injected) {
		t.Errorf("Move: %v", err)
	}
	s.fault = failOn("syncdir", Deferred, injected)
	if err := s.Defer(id, Incoming, time.Unix(9, 0)); !errors.Is(err, injected) {
		t.Errorf("Defer: %v", err)
	}
	s.fault = failOn("remove", Deferred, injected)
	if err := s.Remove(Deferred, id); !errors.Is(err, injected) {
		t.Errorf("Remove: %v", err)
	}
	s.fault = nil
	m, err := s.Read(Deferred, id)
	if err != nil || m.Status[0].State != Pending || m.DelayWarned || m.NextAttempt.Unix() != 9 {
		t.Errorf("final state %+v, %v", m, err)
	}
}

// On a real, small tmpfs: fill it, get ErrNoSpace (from the free-space
// check or from a real ENOSPC), and find every acknowledged message
// intact.
func TestStoreTmpfsFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	for _, opt := range []Options{{}, {MinFree: 512 << 10}} {
		s, err := Open(filepath.Join(dir, fmt.Sprint(opt.MinFree)), opt)
		if err != nil {
			t.Fatal(err)
		}
		bodies := map[string]string{}
		var last error
		for i := 0; i < 100 && last == nil; i++ {
			body := fmt.Sprintf("%d:%s", i, strings.Repeat("m", 100<<10))
			id, err := s.Enqueue(context.Background(), fullEnvelope(), strings.NewReader(body))
			if err == nil {
				bodies[id] = body
			}
			last = err
		}
		if !errors.Is(last, ErrNoSpace) {
			t.Fatalf("MinFree %d: after %d messages: %v", opt.MinFree, len(bodies), last)
		}
		if opt.MinFree == 0 && !errors.Is(last, syscall.ENOSPC) {
			t.Errorf("expected a real ENOSPC: %v", last)
		}
		ids, err := s.List(Incoming)
		if err != nil || len(ids) != len(bodies) || len(bodies) == 0 {
			t.Fatalf("%d messages listed, %d acknowledged: %v", len(ids), len(bodies), err)
		}
		for _, id := range ids {
			if got := readContent(t, s, Incoming, id); string(got) != bodies[id] {
				t.Errorf("%s damaged", id)
			}
			if err := s.Update(Incoming, id, map[int]RcptStatus{0: {State: Sent}}); err != nil && !errors.Is(err, ErrNoSpace) {
				t.Errorf("Update on a full disk: %v", err)
			}
		}
		if entries, _ := os.ReadDir(filepath.Join(s.dir, tmpDir)); len(entries) != 0 {
			t.Errorf("tmp: %v", entries)
		}
		for _, id := range ids {
			s.Remove(Incoming, id)
		}
	}
}
