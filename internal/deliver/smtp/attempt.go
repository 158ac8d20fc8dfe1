package smtp

import (
	"time"

	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
)

// attempt is the state of one Deliver call: which recipients are done,
// and the latest general failure that the rest will be deferred or
// bounced with (Postfix's state->why).
type attempt struct {
	req     *deliver.Request
	start   time.Time
	setupAt time.Time // MAIL FROM of the current session; zero outside one
	results []deliver.Result
	done    []bool
	left    int
	why     *failure
}

func newAttempt(req *deliver.Request) *attempt {
	at := &attempt{req: req, start: time.Now(), results: make([]deliver.Result, len(req.Rcpts)),
		done: make([]bool, len(req.Rcpts)), left: len(req.Rcpts)}
	for i, idx := range req.Rcpts {
		at.results[i].Rcpt = idx
	}
	return at
}

// rcpt is the envelope recipient at position i of the request.
func (at *attempt) rcpt(i int) queue.Recipient { return at.req.Env.Recipients[at.req.Rcpts[i]] }

// pending lists the positions not done yet.
func (at *attempt) pending() []int {
	var out []int
	for i, d := range at.done {
		if !d {
			out = append(out, i)
		}
	}
	return out
}

// finish records the outcome of position i. Set-up time runs from the
// start of the attempt to MAIL FROM of the session that settled the
// recipient, transmission from there on (delays=…/…/c/d).
func (at *attempt) finish(i int, r deliver.Result) {
	if at.done[i] {
		return
	}
	now := time.Now()
	r.Rcpt = at.req.Rcpts[i]
	if at.setupAt.IsZero() {
		r.Setup = now.Sub(at.start)
	} else {
		r.Setup = at.setupAt.Sub(at.start)
		r.Transfer = now.Sub(at.setupAt)
	}
	at.results[i] = r
	at.done[i] = true
	at.left--
}

// fail settles or keeps the recipients at the given positions, as
// smtp_bulk_fail / smtp_rcpt_fail do: a hard failure bounces them now; a
// soft one defers them now on the final server, and otherwise only
// becomes the reason they will have if no later server takes them.
func (at *attempt) fail(positions []int, f *failure, final bool) {
	if f.soft() && !final {
		at.why = f
		return
	}
	kind := deliver.Bounced
	if f.soft() {
		kind = deliver.Deferred
	}
	for _, i := range positions {
		at.finish(i, deliver.Result{Kind: kind, DSN: f.dsn, Reason: f.reason, Relay: f.relay,
			Diagnostic: f.diag, RemoteMTA: f.remoteMTA, ConnUse: f.connUse})
	}
}

// failRest settles whatever is left at the end with the latest failure,
// relay=none (smtp_connect's final smtp_sess_fail).
func (at *attempt) failRest() {
	f := at.why
	if f == nil {
		f = fail("4.3.0", "server unavailable or unable to receive mail")
	}
	rest := *f
	rest.relay, rest.connUse = "none", 0
	at.fail(at.pending(), &rest, true)
}
