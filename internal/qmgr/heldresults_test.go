package qmgr

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
)

// A message for many local users, one request each, records its
// outcomes together: one queue file write (or its removal) instead of
// one append and fsync per recipient; every recipient is still logged
// once, after the record.
func TestHeldResultsOneRecordPerMessage(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rcpts       []string
		wantUpdates int // Update calls; removal (Complete) is not one
		wantGone    bool
	}{
		{"one recipient", []string{"ok0"}, 0, true},
		{"50 recipients delivered", numbered("ok", 50), 0, true},
		{"49 delivered, 1 deferred", append(numbered("ok", 49), "soft0"), 1, false},
		{"3 delivered, 2 deferred", append(numbered("ok", 3), numbered("soft", 2)...), 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			var addrs []string
			for _, a := range tc.rcpts {
				addrs = append(addrs, a+"@mx.example.test")
			}
			id := r.send("sender@example.net", addrs...)
			r.settle("the round", func() bool {
				m, where := r.store.snapshot(id)
				return m == nil || where == queue.Deferred
			})
			m, _ := r.store.snapshot(id)
			if gone := m == nil; gone != tc.wantGone {
				t.Fatalf("message removed: %v, want %v", gone, tc.wantGone)
			}
			if n := r.store.updates(id); n != tc.wantUpdates {
				t.Errorf("%d queue file updates, want %d", n, tc.wantUpdates)
			}
			log := r.log.String()
			for _, a := range addrs {
				if n := strings.Count(log, "to=<"+a+">"); n != 1 {
					t.Errorf("%s logged %d times, want once:\n%s", a, n, log)
				}
				if strings.HasPrefix(a, "ok") && r.agent.count(a) != 1 {
					t.Errorf("%s delivered %d times", a, r.agent.count(a))
				}
			}
			if m != nil {
				for i, a := range addrs {
					want := queue.Sent
					if strings.HasPrefix(a, "soft") {
						want = queue.Pending
					}
					if m.Status[i].State != want {
						t.Errorf("%s: state %v, want %v", a, m.Status[i].State, want)
					}
				}
			}
		})
	}
}

func numbered(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// slowGated delivers every recipient at once but those whose address
// starts with "slow", which wait for gate.
type slowGated struct{ gate chan struct{} }

func (g slowGated) Deliver(_ context.Context, req *deliver.Request) []deliver.Result {
	var out []deliver.Result
	for _, i := range req.Rcpts {
		if strings.HasPrefix(req.Env.Recipients[i].Addr, "slow") {
			<-g.gate
		}
		out = append(out, deliver.Result{Rcpt: i, Kind: deliver.Sent, DSN: "2.0.0", Reason: "delivered to maildir", Relay: "local"})
	}
	return out
}

// Outcomes are held no longer than maxHold: a recipient whose delivery
// takes long does not keep the others' outcomes out of the queue file
// (and the maillog), where a crash would have them delivered again.
func TestHeldResultsWaitNoLongerThanMaxHold(t *testing.T) {
	g := slowGated{gate: make(chan struct{})}
	r := newRig(t, func(c *Config) { c.Agents["local"] = g })
	r.mgr.maxHold = 20 * time.Millisecond
	open := sync.OnceFunc(func() { close(g.gate) })
	t.Cleanup(open) // before the rig stops, which waits for the delivery
	id := r.send("sender@example.net", "ok0@mx.example.test", "ok1@mx.example.test", "slow0@mx.example.test")
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, _ := r.store.snapshot(id)
		if m != nil && m.Status[0].State == queue.Sent && m.Status[1].State == queue.Sent {
			if m.Status[2].State != queue.Pending {
				t.Fatalf("the slow recipient is recorded before its delivery: %+v", m.Status[2])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the finished recipients were not recorded while the slow one ran; log:\n%s", r.log)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if log := r.log.String(); !strings.Contains(log, "to=<ok0@mx.example.test>") || strings.Contains(log, "to=<slow0@") {
		t.Errorf("want the recorded recipients logged, the slow one not yet:\n%s", log)
	}
	open()
	r.settle("removal", func() bool { m, _ := r.store.snapshot(id); return m == nil })
	if n := r.store.updates(id); n != 1 {
		t.Errorf("%d queue file updates, want 1 (the two held, then the removal)", n)
	}
}
