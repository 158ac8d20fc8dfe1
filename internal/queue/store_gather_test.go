package queue

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// enqueueAlone enqueues with nobody else about, and fails the test if
// Enqueue does not return within a minute: with Gather set to an hour,
// that means it waited for company.
func enqueueAlone(t *testing.T, s *Store, env *Envelope) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := s.Enqueue(context.Background(), env, strings.NewReader("body\r\n"))
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("a lone Enqueue waited for company (Gather is an hour)")
		return nil
	}
}

// One session sending message after message has no company to wait for:
// its directory fsyncs run at once, however recently the last one ran,
// and so after an Enqueue that failed after announcing itself (issue 19:
// each message waited a millisecond before its incoming/ fsync).
func TestEnqueueAloneDoesNotGather(t *testing.T) {
	s := openStore(t, t.TempDir())
	s.syncs[Incoming].group.Gather = time.Hour
	s.syncs[Hold].group.Gather = time.Hour
	for range 3 {
		if err := enqueueAlone(t, s, fullEnvelope()); err != nil {
			t.Fatal(err)
		}
	}
	held := fullEnvelope()
	held.Hold = true
	for range 2 {
		if err := enqueueAlone(t, s, held); err != nil {
			t.Fatal(err)
		}
	}
	injected := errors.New("injected")
	for _, f := range []fault{failOn("sync", tmpDir, injected), failOn("link", Incoming, injected)} {
		s.fault = f
		if err := enqueueAlone(t, s, fullEnvelope()); !errors.Is(err, injected) {
			t.Fatalf("Enqueue: %v, want the injected failure", err)
		}
		s.fault = nil
		for range 2 {
			if err := enqueueAlone(t, s, fullEnvelope()); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.fault = func(op, _ string) error {
		if op == "sync" {
			cancel() // the client goes away after the content is written
		}
		return nil
	}
	if _, err := s.Enqueue(ctx, fullEnvelope(), strings.NewReader("body\r\n")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Enqueue: %v, want cancelled", err)
	}
	s.fault = nil
	if err := enqueueAlone(t, s, fullEnvelope()); err != nil {
		t.Fatal(err)
	}
}

// An Enqueue whose file is written waits for the other Enqueues that are
// on their way to the same directory fsync, and they share it.
func TestEnqueueWaitsForCompany(t *testing.T) {
	s := openStore(t, t.TempDir())
	s.syncs[Incoming].group.Gather = time.Hour // the test would time out if it waited that long
	a, b := fullEnvelope(), fullEnvelope()
	a.ID = NewID()
	b.ID = NewID()
	var dirSyncs atomic.Int64
	aLinking, release := make(chan struct{}), make(chan struct{})
	linked := make(chan struct{})
	s.fault = func(op, path string) error {
		switch {
		case op == "link" && filepath.Base(path) == a.ID:
			close(aLinking) // a: written (announced), about to link
			<-release       // and slow to get there
		case op == "link" && filepath.Base(path) == b.ID:
			<-aLinking
			close(linked) // b: about to link and sync incoming/
		case op == "syncdir" && filepath.Base(path) == Incoming:
			dirSyncs.Add(1)
		}
		return nil
	}
	var wg sync.WaitGroup
	for _, env := range []*Envelope{a, b} {
		wg.Go(func() {
			if _, err := s.Enqueue(context.Background(), env, strings.NewReader("body\r\n")); err != nil {
				t.Error(err)
			}
		})
	}
	<-linked
	close(release)
	wg.Wait()
	if n := dirSyncs.Load(); n != 1 {
		t.Errorf("%d fsyncs of incoming/ for two Enqueues on their way together, want 1", n)
	}
}
