package deliver

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/queue"
)

type agentFunc func(ctx context.Context, req *Request) []Result

func (f agentFunc) Deliver(ctx context.Context, req *Request) []Result { return f(ctx, req) }

// Pass hands the local agent's mailbox deliveries to the transport in
// one request, each for its recipient (DSN settings kept, the recipient
// as original), and gives each recipient the worse of its own result and
// its addresses'.
func TestPass(t *testing.T) {
	env := &queue.Envelope{Sender: "s@remote.test", Recipients: []queue.Recipient{
		{Addr: "alice@example.test", Notify: "SUCCESS"}, {Addr: "team@example.test"}, {Addr: "archive@example.test"},
		{Addr: "gone@example.test"}, {Addr: "plain@remote.test"}}}
	req := &Request{ID: "Q1", Env: env, Rcpts: []int{0, 1, 2, 3, 4}}
	local := agentFunc(func(_ context.Context, req *Request) []Result {
		return []Result{
			{Rcpt: 0, Kind: Sent, DSN: "2.0.0", Relay: "local", Pass: "alice@example.test"},
			{Rcpt: 1, Kind: Sent, DSN: "2.0.0", Relay: "local", Action: "expanded", Pass: "alice@example.test\nbob@example.test"},
			{Rcpt: 2, Kind: Sent, DSN: "2.0.0", Relay: "local", Action: "expanded", Reason: "delivered to file: /x", Pass: "alice@example.test"},
			{Rcpt: 3, Kind: Bounced, DSN: "5.1.1", Relay: "local", Reason: "unknown", Pass: "alice@example.test"},
			{Rcpt: 4, Kind: Sent, DSN: "2.0.0", Relay: "local", Reason: "delivered to maildir"},
		}
	})
	var got *Request
	lmtp := agentFunc(func(_ context.Context, r *Request) []Result {
		got = r
		var out []Result
		for _, i := range r.Rcpts {
			addr := r.Env.Recipients[i].Addr
			res := Result{Rcpt: i, Kind: Sent, DSN: "2.0.0", Reason: "250 2.0.0 <" + addr + "> Saved", Relay: "mx[private/lmtp]"}
			if addr == "bob@example.test" {
				res = Result{Rcpt: i, Kind: Deferred, DSN: "4.2.2", Reason: "452 4.2.2 <bob@example.test> Quota exceeded", Relay: "mx[private/lmtp]"}
			}
			out = append(out, res)
		}
		return out
	})
	res := Pass{Local: local, Transport: lmtp, Name: "lmtp", Nexthop: "unix:private/lmtp"}.Deliver(context.Background(), req)
	if got == nil || got.Nexthop != "unix:private/lmtp" || len(got.Rcpts) != 5 {
		t.Fatalf("transport request %+v", got)
	}
	if r := got.Env.Recipients[0]; r.Addr != "alice@example.test" || r.Notify != "SUCCESS" || r.Orig != "alice@example.test" {
		t.Errorf("passed recipient %+v", r)
	}
	if r := got.Env.Recipients[2]; r.Addr != "bob@example.test" || r.Orig != "team@example.test" {
		t.Errorf("passed recipient %+v", r)
	}
	for i, w := range []struct {
		kind   Kind
		reason string
		relay  string
		action string
	}{
		{Sent, "250 2.0.0 <alice@example.test> Saved", "mx[private/lmtp]", ""},
		{Deferred, "452 4.2.2 <bob@example.test> Quota exceeded", "mx[private/lmtp]", ""},
		{Sent, "delivered to file: /x; 250 2.0.0 <alice@example.test> Saved", "local", "expanded"},
		{Bounced, "unknown", "local", ""},
		{Sent, "delivered to maildir", "local", ""},
	} {
		r := res[i]
		if r.Rcpt != i || r.Kind != w.kind || r.Reason != w.reason || r.Relay != w.relay || r.Action != w.action || r.Pass != "" {
			t.Errorf("result %d = %+v, want %+v", i, r, w)
		}
	}
	// Each delivery keeps its own line: the passed addresses (to=
	// member, orig_to= recipient) under the transport's name, the local
	// agent's own when it had one.
	type line struct {
		transport, to, orig string
		kind                Kind
		reason              string
	}
	lines := func(r Result) (out []line) {
		if r.Passed == nil {
			return nil
		}
		for _, p := range *r.Passed {
			out = append(out, line{p.Transport, p.To.Addr, p.To.Orig, p.Kind, p.Reason})
		}
		return out
	}
	for i, w := range [][]line{
		{{"lmtp", "alice@example.test", "alice@example.test", Sent, "250 2.0.0 <alice@example.test> Saved"}},
		{{"lmtp", "alice@example.test", "team@example.test", Sent, "250 2.0.0 <alice@example.test> Saved"},
			{"lmtp", "bob@example.test", "team@example.test", Deferred, "452 4.2.2 <bob@example.test> Quota exceeded"}},
		{{"", "archive@example.test", "", Sent, "delivered to file: /x"},
			{"lmtp", "alice@example.test", "archive@example.test", Sent, "250 2.0.0 <alice@example.test> Saved"}},
		{{"", "gone@example.test", "", Bounced, "unknown"},
			{"lmtp", "alice@example.test", "gone@example.test", Sent, "250 2.0.0 <alice@example.test> Saved"}},
		nil,
	} {
		if got := lines(res[i]); !reflect.DeepEqual(got, w) {
			t.Errorf("result %d lines %+v, want %+v", i, got, w)
		}
	}
	// No such transport: the passed deliveries wait.
	res = Pass{Local: local, Name: "lmtp"}.Deliver(context.Background(), req)
	if res[0].Kind != Deferred || !strings.Contains(res[0].Reason, `no "lmtp" service`) || res[4].Kind != Sent {
		t.Errorf("without the transport: %+v", res)
	}
}

// Limit caps the addresses per request to the transport (the lmtp
// transport's destination recipient limit): five mailbox addresses of
// one alias go in requests of two, two and one, and each still settles
// its recipient.
func TestPassLimit(t *testing.T) {
	env := &queue.Envelope{Sender: "s@remote.test", Recipients: []queue.Recipient{{Addr: "all@example.test"}, {Addr: "u5@example.test"}}}
	req := &Request{ID: "Q1", Env: env, Rcpts: []int{0, 1}}
	local := agentFunc(func(_ context.Context, req *Request) []Result {
		return []Result{
			{Rcpt: 0, Kind: Sent, DSN: "2.0.0", Relay: "local", Action: "expanded", Pass: "u1@example.test\nu2@example.test\nu3@example.test\nu4@example.test"},
			{Rcpt: 1, Kind: Sent, DSN: "2.0.0", Relay: "local", Pass: "u5@example.test"},
		}
	})
	var sizes []int
	lmtp := agentFunc(func(_ context.Context, r *Request) []Result {
		sizes = append(sizes, len(r.Rcpts))
		var out []Result
		for _, i := range r.Rcpts {
			k := Sent
			if r.Env.Recipients[i].Addr == "u3@example.test" {
				k = Deferred
			}
			out = append(out, Result{Rcpt: i, Kind: k, DSN: "2.0.0", Reason: "ok " + r.Env.Recipients[i].Addr})
		}
		return out
	})
	res := Pass{Local: local, Transport: lmtp, Name: "lmtp", Limit: 2}.Deliver(context.Background(), req)
	if fmt.Sprint(sizes) != "[2 2 1]" {
		t.Errorf("request sizes %v, want [2 2 1]", sizes)
	}
	if res[0].Kind != Deferred || res[0].Reason != "ok u3@example.test" || res[1].Kind != Sent || res[1].Reason != "ok u5@example.test" {
		t.Errorf("results %+v", res)
	}
}
