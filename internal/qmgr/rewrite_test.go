package qmgr

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/queue"
)

// rewriteFunc adapts a function to Rewriter.
type rewriteFunc func(env *queue.Envelope) error

func (f rewriteFunc) Envelope(_ context.Context, env *queue.Envelope) error { return f(env) }

// Config.Rewrite applies to what the manager's queue takes: the queued
// envelope is the rewritten one, the caller's is left alone, and an
// error queues nothing.
func TestRewriteOnEnqueue(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.Rewrite = rewriteFunc(func(env *queue.Envelope) error {
			var out []queue.Recipient
			for _, rc := range env.Recipients {
				switch rc.Addr {
				case "fail@mx.example.test":
					return errors.New("table down")
				case "team@mx.example.test":
					out = append(out, queue.Recipient{Addr: "ok-a@mx.example.test", Orig: rc.Addr}, queue.Recipient{Addr: "ok-b@mx.example.test", Orig: rc.Addr})
				default:
					out = append(out, rc)
				}
			}
			env.Recipients = out
			return nil
		})
	})
	env := envTo("team@mx.example.test")
	if _, err := r.mgr.Queue().Enqueue(context.Background(), env, strings.NewReader(directContent)); err != nil {
		t.Fatal(err)
	}
	r.settle("delivered", func() bool {
		return r.agent.count("ok-a@mx.example.test") == 1 && r.agent.count("ok-b@mx.example.test") == 1
	})
	if len(env.Recipients) != 1 || env.Recipients[0].Addr != "team@mx.example.test" {
		t.Errorf("the caller's envelope changed: %+v", env.Recipients)
	}
	before := r.store.enqueued()
	if _, err := r.mgr.Queue().Enqueue(context.Background(), envTo("fail@mx.example.test"), strings.NewReader(directContent)); err == nil {
		t.Error("queued though the rewriting failed")
	}
	if r.store.enqueued() != before {
		t.Error("a queue file was written")
	}
}
