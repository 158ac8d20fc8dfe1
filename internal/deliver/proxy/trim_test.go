package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
)

func envOf(n int) *queue.Envelope {
	e := &queue.Envelope{ID: "Q1", Sender: "s@example.org", Helo: "client.example"}
	for i := range n {
		e.Recipients = append(e.Recipients, queue.Recipient{Addr: fmt.Sprintf("u%d@x", i), Orig: fmt.Sprintf("U%d@x", i)})
	}
	return e
}

// A request for a few of many recipients carries only those; the child
// rebuilds the envelope with each at its index.
func TestTrimmedEnvelope(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		rcpts   []int
		trimmed bool
	}{
		{"one of fifty", 50, []int{17}, true},
		{"first and last of fifty", 50, []int{0, 49}, true},
		{"all of two", 2, []int{0, 1}, false},
		{"one of two", 2, []int{1}, false},
		{"half of ten", 10, []int{0, 2, 4, 6, 8}, false},
		{"a bad index goes whole", 50, []int{50}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envOf(tc.n)
			e, n, list := trimmed(env, tc.rcpts)
			w := &wireRequest{ID: "Q1", Env: e, NRcpt: n, RcptList: list, Rcpts: tc.rcpts}
			if got := e != env; got != tc.trimmed {
				t.Fatalf("trimmed %v, want %v", got, tc.trimmed)
			}
			if len(env.Recipients) != tc.n {
				t.Fatal("the caller's envelope changed")
			}
			b, err := json.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			if tc.trimmed && strings.Contains(string(b), `"u3@x"`) && !contains(tc.rcpts, 3) {
				t.Errorf("the frame carries recipients it does not deliver to: %s", b)
			}
			var back wireRequest
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			got, err := back.envelope()
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Recipients) != tc.n || got.Sender != env.Sender || got.Helo != env.Helo {
				t.Fatalf("rebuilt envelope %+v", got)
			}
			for _, i := range tc.rcpts {
				if i < tc.n && got.Recipients[i] != env.Recipients[i] {
					t.Errorf("recipient %d: %+v, want %+v", i, got.Recipients[i], env.Recipients[i])
				}
			}
		})
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Malformed recipient lists from the daemon are refused, not trusted.
func TestEnvelopeRefusesMalformedLists(t *testing.T) {
	one := []queue.Recipient{{Addr: "a@x"}}
	for _, tc := range []struct {
		name string
		w    wireRequest
	}{
		{"index past nrcpt", wireRequest{Env: &queue.Envelope{}, NRcpt: 2, RcptList: one, Rcpts: []int{2}}},
		{"negative index", wireRequest{Env: &queue.Envelope{}, NRcpt: 2, RcptList: one, Rcpts: []int{-1}}},
		{"list and rcpts differ", wireRequest{Env: &queue.Envelope{}, NRcpt: 2, RcptList: one, Rcpts: []int{0, 1}}},
		{"huge nrcpt", wireRequest{Env: &queue.Envelope{}, NRcpt: maxRcpts + 1, RcptList: one, Rcpts: []int{0}}},
		{"negative nrcpt", wireRequest{Env: &queue.Envelope{}, NRcpt: -1, RcptList: one, Rcpts: []int{0}}},
		{"both lists", wireRequest{Env: &queue.Envelope{Recipients: one}, NRcpt: 1, RcptList: one, Rcpts: []int{0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.w.envelope(); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// recorder answers with the address it was asked to deliver to.
type recorder struct{}

func (recorder) Deliver(_ context.Context, req *deliver.Request) []deliver.Result {
	var out []deliver.Result
	for _, i := range req.Rcpts {
		out = append(out, deliver.Result{Rcpt: i, Kind: deliver.Sent, DSN: "2.0.0",
			Reason: fmt.Sprintf("%s of %d", req.Env.Recipients[i].Addr, len(req.Env.Recipients)), Relay: "local"})
	}
	return out
}

// End to end through Client and Serve: the agent sees the recipient at
// its index in an envelope of the message's size.
func TestTrimmedRequestRoundTrip(t *testing.T) {
	daemonEnd, agentEnd := net.Pipe()
	defer daemonEnd.Close()
	go Serve(agentEnd, func(queue.Queue) (deliver.Agent, error) { return recorder{}, nil },
		func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil })
	c := NewClient(daemonEnd, &queue.Memory{}, nil)
	res := c.Deliver(context.Background(), &deliver.Request{ID: "Q1", Env: envOf(50), Rcpts: []int{33}, Body: []byte("x")})
	if len(res) != 1 || res[0].Rcpt != 33 || res[0].Reason != "u33@x of 50" {
		t.Fatalf("results %+v", res)
	}
}
