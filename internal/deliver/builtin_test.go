package deliver

import (
	"context"
	"testing"
)

func TestBuiltinAgents(t *testing.T) {
	for _, c := range []struct {
		agent   Agent
		nexthop string
		want    Result
	}{
		{Discard{}, "", Result{Kind: Sent, DSN: "2.0.0", Reason: "discarded", Relay: "none"}},
		{Discard{}, "example.com", Result{Kind: Sent, DSN: "2.0.0", Reason: "example.com", Relay: "none"}},
		{Error{}, "5.1.1 mailbox gone", Result{Kind: Bounced, DSN: "5.1.1", Reason: "mailbox gone", Relay: "none"}},
		{Error{}, "4.1.1 not a soft error here", Result{Kind: Bounced, DSN: "5.1.1", Reason: "not a soft error here", Relay: "none"}},
		{Error{}, "go away", Result{Kind: Bounced, DSN: "5.0.0", Reason: "go away", Relay: "none"}},
		{Error{Defer: true}, "5.7.1 later", Result{Kind: Deferred, DSN: "4.7.1", Reason: "later", Relay: "none"}},
		{Unavailable{Reason: "no smtp"}, "x", Result{Kind: Deferred, DSN: "4.3.0", Reason: "no smtp", Relay: "none"}},
	} {
		got := c.agent.Deliver(context.Background(), &Request{Nexthop: c.nexthop, Rcpts: []int{3, 5}})
		if len(got) != 2 || got[0].Rcpt != 3 || got[1].Rcpt != 5 {
			t.Fatalf("%T(%q): results %+v", c.agent, c.nexthop, got)
		}
		got[0].Rcpt = 0
		if got[0] != c.want {
			t.Errorf("%T(%q) = %+v, want %+v", c.agent, c.nexthop, got[0], c.want)
		}
	}
}
