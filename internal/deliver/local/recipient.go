package local

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/aliases"
	"github.com/postern-mta/postern/internal/deliver"
	"github.com/postern-mta/postern/internal/queue"
)

// delivery is the delivery of a message to one recipient.
type delivery struct {
	a      *Agent
	ctx    context.Context
	m      *message
	rcpt   queue.Recipient
	idx    int    // the recipient's index in the envelope
	domain string // of the recipient address
	// opened is the content opened before the delivery took an alias
	// owner's rights (file), for the next writeCopy.
	opened io.ReadCloser
}

// recipient delivers to recipient i: loop check, alias expansion, then
// each destination. The recipient's result is the worst of its
// destinations': one deferral defers it (and a later attempt delivers to
// all destinations again, as in Postfix), else one bounce bounces it.
func (a *Agent) recipient(ctx context.Context, m *message, i int) deliver.Result {
	rcpt := m.req.Env.Recipients[i]
	localPart, domain := rcpt.Addr, ""
	if at := strings.LastIndexByte(rcpt.Addr, '@'); at >= 0 {
		localPart, domain = rcpt.Addr[:at], rcpt.Addr[at+1:]
	}
	d := &delivery{a: a, ctx: ctx, m: m, rcpt: rcpt, idx: i, domain: domain}
	if o, loop := d.loopCheck(rcpt.Addr); loop {
		return result(o, "")
	}
	targets, err := a.expander.Expand(localPart)
	if err != nil {
		a.cfg.Logger.Warn(fmt.Sprintf("%s: %v", rcpt.Addr, err))
		return result(failed("4.3.0", "alias database unavailable"), "")
	}
	if m.req.DirectOnly && !plain(targets) {
		return deliver.Result{Kind: deliver.Declined}
	}
	var outcomes []outcome
	var forwards []aliases.Target
	for _, t := range targets {
		if err := ctx.Err(); err != nil {
			outcomes = append(outcomes, failed("4.3.0", "delivery interrupted: "+err.Error()))
			break
		}
		switch t.Kind {
		case aliases.Mailbox:
			outcomes = append(outcomes, d.mailbox(t))
		case aliases.Forward:
			forwards = append(forwards, t)
		case aliases.File:
			outcomes = append(outcomes, d.file(t))
		case aliases.Command:
			outcomes = append(outcomes, d.command(t))
		case aliases.Failed:
			outcomes = append(outcomes, failed(t.DSN, t.Reason))
		}
	}
	if len(forwards) > 0 && ctx.Err() == nil {
		outcomes = append(outcomes, d.forward(forwards)...)
	}
	action := ""
	if len(targets) > 1 || len(targets) == 1 && targets[0].Source != aliases.FromRecipient {
		action = "expanded"
	}
	return combine(outcomes, action)
}

// plain reports whether a recipient's destinations are only its own
// mailbox: no alias, so nothing runs or forwards.
func plain(targets []aliases.Target) bool {
	return len(targets) == 1 && targets[0].Kind == aliases.Mailbox && targets[0].Source == aliases.FromRecipient
}

// loopCheck bounces a recipient the message was already delivered to,
// according to its Delivered-To: headers.
func (d *delivery) loopCheck(addr string) (outcome, bool) {
	loop, err := d.m.deliveredTo(addr)
	if err != nil {
		return failed("4.3.0", err.Error()), true
	}
	if loop {
		return failed("5.4.6", "mail forwarding loop for "+addr), true
	}
	return outcome{}, false
}

// combine merges the outcomes of a recipient's destinations.
func combine(outcomes []outcome, action string) deliver.Result {
	if len(outcomes) == 0 { // cannot happen: Expand lists a destination or fails
		return result(failed("4.3.0", "mail system error: nothing to deliver to"), "")
	}
	// Mailbox deliveries left to mailbox_transport go with any result:
	// the other destinations' failure does not cancel them.
	var pass []string
	for _, o := range outcomes {
		if o.pass != "" {
			pass = append(pass, o.pass)
		}
	}
	for _, kind := range []deliver.Kind{deliver.Declined, deliver.Deferred, deliver.Bounced} {
		for _, o := range outcomes {
			if o.kind == kind {
				r := result(o, "")
				if kind != deliver.Declined {
					r.Pass = strings.Join(pass, "\n")
				}
				return r
			}
		}
	}
	var reasons []string
	for _, o := range outcomes {
		if o.pass == "" && !slices.Contains(reasons, o.reason) {
			reasons = append(reasons, o.reason)
		}
	}
	r := result(sent(strings.Join(reasons, "; ")), action)
	r.Pass = strings.Join(pass, "\n")
	return r
}

func result(o outcome, action string) deliver.Result {
	if o.kind != deliver.Sent {
		action = ""
	}
	return deliver.Result{Kind: o.kind, DSN: o.dsn, Reason: o.reason, Action: action}
}

// prepend reports whether class is in prepend_delivered_header.
func (a *Agent) prepend(class string) bool {
	return slices.Contains(a.cfg.PrependDeliveredHeader, class)
}

// allowed reports whether destinations from src may be of a kind whose
// allow_mail_to_* list is classes. Postfix's classes: alias, forward
// (.forward files, not supported here), include.
func allowed(classes []string, src aliases.Source) bool {
	switch src {
	case aliases.FromAlias:
		return slices.Contains(classes, "alias")
	case aliases.FromInclude:
		return slices.Contains(classes, "include")
	}
	return false
}

// rights returns the user a |command or /file destination is delivered
// as: the owner uid from the expansion, default_privs for root.
func (d *delivery) rights(uid int) (*User, *outcome) {
	users := d.a.cfg.Users
	var u *User
	var err error
	if uid != 0 {
		if u, err = users.LookupID(uid); err != nil {
			d.a.cfg.Logger.Warn(fmt.Sprintf("cannot find username for uid %d: %v", uid, err))
		}
	} else if u, err = users.Lookup(d.a.cfg.DefaultPrivs); err != nil {
		d.a.cfg.Logger.Warn(fmt.Sprintf("default_privs: unknown user %s: %v", d.a.cfg.DefaultPrivs, err))
	} else if u.UID == 0 || u.GID == 0 {
		d.a.cfg.Logger.Warn("default_privs must not be a privileged user: " + d.a.cfg.DefaultPrivs)
		err = fmt.Errorf("privileged default user")
	}
	if err != nil {
		o := failed("4.3.5", "mail system configuration error")
		return nil, &o
	}
	return u, nil
}
