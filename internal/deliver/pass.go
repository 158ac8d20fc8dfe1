package deliver

import (
	"context"
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/queue"
)

// Pass is local delivery with Postfix's mailbox_transport: Local (the
// local agent, in this process or behind the root agent's proxy) expands
// aliases and delivers to files, commands and forwarding addresses, and
// lists the mailbox deliveries in Result.Pass; Pass hands those
// addresses to Transport (lmtp:unix:private/dovecot-lmtp: Transport the
// lmtp agent, Nexthop "unix:private/dovecot-lmtp") in requests of at
// most Limit addresses (local(8)'s deliver_pass hands over one at a
// time), and gives each recipient the worse of its own result and its
// addresses' (deferred, then bounced, then sent); Result.Passed keeps
// each delivery for the maillog.
type Pass struct {
	Local     Agent
	Transport Agent  // nil: no such transport
	Name      string // the transport's name, for the error when it is nil
	Nexthop   string
	// Limit is the most addresses per request to Transport (the
	// transport's destination recipient limit); 0: no limit.
	Limit int
}

// Deliver runs the local delivery, then the passed mailbox deliveries.
func (p Pass) Deliver(ctx context.Context, req *Request) []Result {
	results := p.Local.Deliver(ctx, req)
	sub := &Request{ID: req.ID, Nexthop: p.Nexthop, Size: req.Size, Content: req.Content, Body: req.Body}
	env := *req.Env
	env.Recipients = nil
	sub.Env = &env
	var owner []int // by sub recipient: index into results
	for i, r := range results {
		if r.Kind == Declined || r.Rcpt < 0 || r.Rcpt >= len(req.Env.Recipients) {
			continue
		}
		orig := req.Env.Recipients[r.Rcpt]
		if r.Pass == "" {
			continue
		}
		for _, addr := range strings.Split(r.Pass, "\n") {
			sub.Rcpts = append(sub.Rcpts, len(env.Recipients))
			env.Recipients = append(env.Recipients, passRecipient(orig, addr))
			owner = append(owner, i)
		}
		results[i].Pass = ""
	}
	if len(sub.Rcpts) == 0 {
		return results
	}
	transport := p.Transport
	if transport == nil {
		transport = Unavailable{Reason: fmt.Sprintf("mail transport unavailable: no %q service in master.cf", p.Name)}
	}
	passed := make([][]Result, len(results))
	all := sub.Rcpts
	for len(all) > 0 {
		n := len(all)
		if p.Limit > 0 {
			n = min(n, p.Limit)
		}
		part := *sub
		part.Rcpts, all = all[:n:n], all[n:]
		for _, sr := range transport.Deliver(ctx, &part) {
			if sr.Rcpt >= 0 && sr.Rcpt < len(owner) {
				passed[owner[sr.Rcpt]] = append(passed[owner[sr.Rcpt]], sr)
			}
		}
	}
	for i, subs := range passed {
		if len(subs) == 0 {
			continue
		}
		own := results[i]
		var lines []Passed
		if own.Reason != "" || own.Kind != Sent { // the local agent's own delivery
			lines = append(lines, Passed{To: req.Env.Recipients[own.Rcpt], Result: own})
		}
		for _, sr := range subs {
			lines = append(lines, Passed{Transport: p.Name, To: env.Recipients[sr.Rcpt], Result: sr})
		}
		results[i] = merge(own, subs)
		results[i].Passed = &lines
	}
	return results
}

// passRecipient is the envelope recipient addr for a delivery on behalf
// of orig: its DSN settings, and orig as the original recipient.
func passRecipient(orig queue.Recipient, addr string) queue.Recipient {
	return queue.Recipient{Addr: addr, Notify: orig.Notify, ORcpt: orig.ORcpt, Orig: orig.Original()}
}

// severity orders the kinds as the local agent combines destinations.
func severity(k Kind) int {
	switch k {
	case Deferred:
		return 0
	case Bounced:
		return 1
	}
	return 2
}

// merge gives a recipient the worse of its own result and its passed
// addresses'; when all are sent, a recipient with nothing else to report
// takes its single passed address's result (relay, reply) as its own.
func merge(own Result, subs []Result) Result {
	worst, fromSub := own, false
	for _, s := range subs {
		if severity(s.Kind) < severity(worst.Kind) {
			worst, fromSub = s, true
		}
	}
	if worst.Kind != Sent {
		if fromSub {
			worst.Rcpt, worst.Action = own.Rcpt, ""
			worst.Setup += own.Setup
			worst.Transfer += own.Transfer
		}
		return worst
	}
	if own.Reason == "" && len(subs) == 1 {
		r := subs[0]
		r.Rcpt, r.Action = own.Rcpt, own.Action
		r.Setup += own.Setup
		r.Transfer += own.Transfer
		return r
	}
	reasons := []string{}
	if own.Reason != "" {
		reasons = append(reasons, own.Reason)
	}
	for _, s := range subs {
		reasons = append(reasons, s.Reason)
		own.Transfer += s.Setup + s.Transfer
	}
	own.Reason = strings.Join(reasons, "; ")
	return own
}
