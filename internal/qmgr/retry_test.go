package qmgr

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
)

// gated says when an attempt starts and lets it go on when told.
type gated struct {
	inner   deliver.Agent
	entered chan struct{}
	gate    chan struct{}
}

func (g *gated) Deliver(ctx context.Context, req *deliver.Request) []deliver.Result {
	g.entered <- struct{}{}
	<-g.gate
	return g.inner.Deliver(ctx, req)
}

// wait waits for an attempt to start.
func (g *gated) wait(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(30 * time.Second): // the manager's next scan is an hour away
		t.Fatal("no attempt started")
	}
}

// Retry makes a deferred message due at once, also when it is asked for
// while the attempt that defers it is still under way.
func TestRetryMakesDeferredDue(t *testing.T) {
	g := &gated{entered: make(chan struct{}, 8), gate: make(chan struct{})}
	r := newRig(t, func(c *Config) {
		g.inner = c.Agents["local"]
		c.Agents["local"] = g
	})
	id := r.send("s@example.net", "soft@mx.example.test")
	g.wait(t)
	scans := func() int {
		r.store.mu.Lock()
		defer r.store.mu.Unlock()
		return r.store.listed[queue.Deferred]
	}
	before := scans()
	r.mgr.Retry([]string{id}) // under way: tried again once deferred
	r.settleScans(scans, before)
	close(g.gate)
	g.wait(t)
	r.settle("second deferral", func() bool { return strings.Count(r.log.String(), "status=deferred") == 2 })
	if _, q := r.store.snapshot(id); q != queue.Deferred {
		t.Fatalf("message in %q", q)
	}
	r.mgr.Retry([]string{id}) // in the deferred queue: tried at once
	g.wait(t)
	r.settle("third deferral", func() bool { return strings.Count(r.log.String(), "status=deferred") == 3 })
	r.mgr.mu.Lock()
	defer r.mgr.mu.Unlock()
	if len(r.mgr.due) != 0 {
		t.Errorf("marks left: %v", r.mgr.due)
	}
}

// settleScans waits until the deferred queue was scanned since before.
func (r *rig) settleScans(scans func() int, before int) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for scans() == before {
		if time.Now().After(deadline) {
			r.t.Fatal("no deferred scan")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
