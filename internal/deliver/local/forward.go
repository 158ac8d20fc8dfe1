package local

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/aliases"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
	"github.com/postern-mta/postern/internal/queue"
)

// forward sends one new message with the addresses ts to the queue, or
// one per sender when some come from an alias with an owner- alias
// (that owner is their sender). The content is the original with a
// Delivered-To: header in front (prepend_delivered_header = forward),
// which is how a message that comes back is recognized as a loop.
func (d *delivery) forward(ts []aliases.Target) []outcome {
	env := d.m.req.Env
	var senders []string
	groups := make(map[string][]string)
	for _, t := range ts {
		sender := env.Sender
		if t.Owner != "" {
			sender = d.a.qualify(t.Owner)
		}
		if _, ok := groups[sender]; !ok {
			senders = append(senders, sender)
		}
		addr := d.a.qualify(t.Value)
		dup := false
		for _, a := range groups[sender] {
			dup = dup || strings.EqualFold(a, addr)
		}
		if !dup {
			groups[sender] = append(groups[sender], addr)
		}
	}
	var outcomes []outcome
	for _, sender := range senders {
		outcomes = append(outcomes, d.enqueue(sender, groups[sender], sender != env.Sender))
	}
	return outcomes
}

// enqueue queues one forwarded copy. For a list with an owner, the DSN
// envelope id, RET and ORCPT of the original do not apply to the new
// message (RFC 3461 section 6.2.7.2, as Postfix does).
func (d *delivery) enqueue(sender string, addrs []string, list bool) outcome {
	if d.a.cfg.Queue == nil {
		return failed("4.3.0", "mail forwarding failed: no queue to forward through")
	}
	orig := d.m.req.Env
	env := &queue.Envelope{
		Sender:   sender,
		EightBit: orig.EightBit,
		SMTPUTF8: orig.SMTPUTF8,
		Arrival:  time.Now(),
	}
	if !list {
		env.Ret, env.EnvID = orig.Ret, orig.EnvID
	}
	for _, a := range addrs {
		r := queue.Recipient{Addr: a, Notify: forwardNotify(d.rcpt.Notify)}
		if o := d.rcpt.Original(); o != a {
			r.Orig = o // orig_to= and X-Original-To: name what was received
		}
		if !list {
			r.ORcpt = d.rcpt.ORcpt
		}
		env.Recipients = append(env.Recipients, r)
	}
	rc, err := d.m.content()
	if err != nil {
		return failed("4.3.0", "error reading message: "+mailstore.Strerror(err))
	}
	defer rc.Close()
	var body io.Reader = rc
	if d.a.prepend("forward") {
		body = io.MultiReader(strings.NewReader("Delivered-To: "+mailstore.QuoteAddr(d.rcpt.Addr)+"\r\n"), rc)
	}
	id, err := d.a.cfg.Queue.Enqueue(d.ctx, env, body)
	if err != nil {
		d.a.cfg.Logger.Warn(fmt.Sprintf("%s: cannot forward to %s: %v", d.m.req.ID, strings.Join(addrs, ", "), err))
		return failed("4.3.0", "mail forwarding failed: "+mailstore.Strerror(err))
	}
	return sent("forwarded as " + id)
}

// forwardNotify is the NOTIFY of a forwarded recipient: SUCCESS is
// dropped because the forwarded copy is not the final delivery; success
// alone becomes NEVER.
func forwardNotify(n string) string {
	if n == "" {
		return ""
	}
	var keep []string
	for _, k := range strings.Split(n, ",") {
		if !strings.EqualFold(strings.TrimSpace(k), "SUCCESS") {
			keep = append(keep, k)
		}
	}
	if len(keep) == 0 {
		return "NEVER"
	}
	return strings.Join(keep, ",")
}
