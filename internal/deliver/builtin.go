package deliver

import (
	"context"
	"regexp"
	"strings"
)

// Discard is Postfix's discard(8): every recipient is reported delivered
// without sending anything; the next hop is the reason logged.
type Discard struct{}

// Deliver reports every recipient as sent.
func (Discard) Deliver(_ context.Context, req *Request) []Result {
	reason := req.Nexthop
	if reason == "" {
		reason = "discarded"
	}
	return each(req, Result{Kind: Sent, DSN: "2.0.0", Reason: reason, Relay: "none"})
}

// Error is Postfix's error(8) (and, with Defer set, retry(8)): every
// recipient fails with the next hop as the reason, which may start with an
// enhanced status code ("error:5.1.1 mailbox gone").
type Error struct{ Defer bool }

var dsnPrefix = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3}\s+`)

// Deliver fails every recipient.
func (e Error) Deliver(_ context.Context, req *Request) []Result {
	r := Result{Kind: Bounced, DSN: "5.0.0", Relay: "none"}
	if e.Defer {
		r.Kind, r.DSN = Deferred, "4.0.0"
	}
	reason := req.Nexthop
	if m := dsnPrefix.FindString(reason); m != "" {
		r.DSN, reason = strings.TrimSpace(m), reason[len(m):]
		if e.Defer {
			r.DSN = "4" + r.DSN[1:]
		} else if r.DSN[0] != '5' {
			r.DSN = "5" + r.DSN[1:]
		}
	}
	if reason == "" {
		reason = "delivery temporarily suspended"
		if !e.Defer {
			reason = "mail for this destination is refused"
		}
	}
	r.Reason = reason
	return each(req, r)
}

// each copies one result for every recipient of the request.
func each(req *Request, r Result) []Result {
	out := make([]Result, len(req.Rcpts))
	for i, idx := range req.Rcpts {
		out[i] = r
		out[i].Rcpt = idx
	}
	return out
}

// Unavailable defers every recipient with a reason: the transport named in
// the route is not (yet) built into postern or is not configured.
type Unavailable struct{ Reason string }

// Deliver defers every recipient.
func (u Unavailable) Deliver(_ context.Context, req *Request) []Result {
	return u.DeliverDSN(req, "4.3.0")
}

// DeliverDSN defers every recipient with the given enhanced status code.
func (u Unavailable) DeliverDSN(req *Request, dsn string) []Result {
	return each(req, Result{Kind: Deferred, DSN: dsn, Reason: u.Reason, Relay: "none"})
}
