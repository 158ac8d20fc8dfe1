package sqlmap

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBackend is a server for the failover tests: with slow set a query
// waits for release (holding its connection; with honorCtx it gives up
// at the deadline, as the drivers do); with fail set, connecting fails.
type fakeBackend struct {
	release  chan struct{}
	started  chan struct{}
	mu       sync.Mutex
	slow     bool
	honorCtx bool
	fail     bool
}

func (f *fakeBackend) set(fn func(f *fakeBackend)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeBackend) query(ctx context.Context, _ func(quoter) (string, error)) ([]*string, bool, error) {
	f.mu.Lock()
	fail, slow, honor := f.fail, f.slow, f.honorCtx
	f.mu.Unlock()
	if fail {
		return nil, false, connError{errors.New("dial unix /nothing: connect: connection refused")}
	}
	if slow {
		f.started <- struct{}{}
		if honor {
			select {
			case <-f.release:
			case <-ctx.Done():
				return nil, false, timeoutError{ctx.Err()}
			}
		} else {
			<-f.release
		}
	}
	v := "v"
	return []*string{&v}, false, nil
}

func (f *fakeBackend) close() {}

func newFake() (*fakeBackend, *core) {
	f := &fakeBackend{release: make(chan struct{}), started: make(chan struct{}, 2*poolSize)}
	return f, &core{s: &settings{typ: "pgsql", retry: time.Minute}, servers: []*server{newServer("inet:db:5432", f)}}
}

func build(quoter) (string, error) { return "SELECT 1", nil }

// TestBusyPoolNotDown: slow queries holding every connection make a
// further lookup fail at its deadline, and the only server is not
// marked down: the next lookup, with the pool free again, is answered
// (review 17b #4: every lookup failed for retry_interval).
func TestBusyPoolNotDown(t *testing.T) {
	defer func(d time.Duration) { queryTimeout = d }(queryTimeout)
	queryTimeout = 100 * time.Millisecond
	f, c := newFake()
	f.set(func(f *fakeBackend) { f.slow = true })
	var wg sync.WaitGroup
	for range poolSize {
		wg.Add(1)
		go func() { defer wg.Done(); c.run(build) }()
	}
	for range poolSize {
		<-f.started // every connection holds a slow query
	}
	if _, _, err := c.run(build); err == nil || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("lookup with the pool full: %v, want busy", err)
	}
	sv := c.servers[0]
	sv.mu.Lock()
	down := !sv.down.IsZero()
	sv.mu.Unlock()
	if down {
		t.Error("a busy pool marked the server down")
	}
	f.set(func(f *fakeBackend) { f.slow = false })
	close(f.release)
	wg.Wait()
	if v, _, err := c.run(build); err != nil || len(v) != 1 {
		t.Fatalf("after the pool is free: %v, %v", v, err)
	}
}

// TestSlowQueryNotDown: our deadline expiring during a query is not a
// dead server.
func TestSlowQueryNotDown(t *testing.T) {
	defer func(d time.Duration) { queryTimeout = d }(queryTimeout)
	queryTimeout = 50 * time.Millisecond
	f, c := newFake()
	f.set(func(f *fakeBackend) { f.slow, f.honorCtx = true, true })
	if _, _, err := c.run(build); !errors.Is(err, context.DeadlineExceeded) && (err == nil || !strings.Contains(err.Error(), "deadline")) {
		t.Fatalf("slow query: %v, want the deadline", err)
	}
	f.set(func(f *fakeBackend) { f.slow = false })
	if v, _, err := c.run(build); err != nil || len(v) != 1 {
		t.Fatalf("next lookup: %v, %v", v, err)
	}
}

// TestSingleServerRetried: a server that failed to connect is marked
// down, but when it is the only one the next lookup tries it again
// instead of failing for retry_interval; while one lookup tries it, the
// others fail at once.
func TestSingleServerRetried(t *testing.T) {
	f, c := newFake()
	f.set(func(f *fakeBackend) { f.fail = true })
	if _, _, err := c.run(build); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("server refusing: %v", err)
	}
	if c.servers[0].down.IsZero() {
		t.Fatal("a refused connection did not mark the server down")
	}
	f.set(func(f *fakeBackend) { f.fail, f.slow = false, true })
	done := make(chan error)
	go func() { _, _, err := c.run(build); done <- err }()
	select {
	case <-f.started: // the probe is in progress
	case err := <-done:
		t.Fatalf("the only server, down, was not tried again: %v", err)
	}
	if _, _, err := c.run(build); err == nil || !strings.Contains(err.Error(), "no database server available") {
		t.Errorf("lookup during the probe: %v", err)
	}
	close(f.release)
	if err := <-done; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if !c.servers[0].down.IsZero() {
		t.Error("still down after an answer")
	}
}
