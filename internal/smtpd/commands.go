package smtpd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/queue"
)

func (ss *session) cmdHelo(ctx context.Context, verb, arg string) {
	if arg == "" {
		ss.fail(fmt.Sprintf("501 Syntax: %s hostname", verb))
		return
	}
	ss.abortTx()
	ss.req.Helo, ss.helo, ss.esmtp = arg, true, verb == "EHLO"
	if !ss.cfg.DelayReject {
		if v := ss.srv.Policy.Check(ctx, "smtpd_helo_restrictions", policy.Helo, &ss.req); v.Kind == policy.Reject {
			ss.reject("HELO", v) // the log line names the refused HELO
			ss.req.Helo, ss.helo = "", false
			return
		}
	}
	if ss.milters != nil {
		// As Postfix: only 421 refuses HELO; another reject is logged
		// and the milter refuses the later commands.
		if r := ss.milterReply("HELO", ss.milters.Helo(ctx, arg), &ss.milterHold, nil); strings.HasPrefix(r, "421") {
			ss.milterFail(r)
			return
		}
	}
	if verb == "HELO" {
		ss.reply("250 " + ss.cfg.Hostname)
		return
	}
	lines := []string{"250-" + ss.cfg.Hostname, "250-PIPELINING"}
	if ss.cfg.MessageSizeLimit > 0 {
		lines = append(lines, fmt.Sprintf("250-SIZE %d", ss.cfg.MessageSizeLimit))
	} else {
		lines = append(lines, "250-SIZE")
	}
	if !ss.cfg.DisableVRFY {
		lines = append(lines, "250-VRFY")
	}
	lines = append(lines, ss.ehloTLS()...)
	lines = append(lines, ss.ehloAuth()...)
	lines = append(lines, "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN")
	if ss.cfg.SMTPUTF8 {
		lines = append(lines, "250-SMTPUTF8")
	}
	lines = append(lines, "250 CHUNKING")
	ss.reply(lines...)
}

// queueID names the transaction in log lines: NOQUEUE until a recipient
// was accepted.
func (ss *session) queueID() string {
	if ss.tx == nil || ss.tx.env.ID == "" {
		return "NOQUEUE"
	}
	return ss.tx.env.ID
}

// whatsup is the tail of Postfix's reject log lines: the envelope so far,
// the protocol and the HELO name.
func (ss *session) whatsup(stage string) string {
	var b strings.Builder
	if ss.tx != nil || stage == "MAIL" {
		fmt.Fprintf(&b, "from=<%s> ", ss.req.Sender)
	}
	if stage == "RCPT" {
		fmt.Fprintf(&b, "to=<%s> ", ss.req.Recipient)
	}
	if ss.esmtp {
		b.WriteString("proto=ESMTP")
	} else {
		b.WriteString("proto=SMTP")
	}
	if ss.req.Helo != "" {
		fmt.Fprintf(&b, " helo=<%s>", ss.req.Helo)
	}
	return b.String()
}

// logHold logs a restriction's HOLD action as Postfix's smtpd does;
// the caller puts the message on hold once the command is accepted.
func (ss *session) logHold(stage string, v policy.Verdict) {
	if v.Hold != "" {
		ss.log("%s: hold: %s from %s: %s; %s", ss.queueID(), stage, ss.req.Client(), v.Hold, ss.whatsup(stage))
	}
}

// reject sends a restriction's reply and logs it as Postfix does.
func (ss *session) reject(stage string, v policy.Verdict) {
	ss.log("%s: reject: %s from %s: %s; %s", ss.queueID(), stage, ss.req.Client(), v.Reply, ss.whatsup(stage))
	ss.fail(v.Reply)
}

func (ss *session) cmdMail(ctx context.Context, arg string) {
	switch {
	case ss.cfg.HeloRequired && !ss.helo:
		ss.fail("503 5.5.1 Error: send HELO/EHLO first")
		return
	case ss.tx != nil:
		ss.fail("503 5.5.1 Error: nested MAIL command")
		return
	}
	rest, ok := cutPrefixFold(arg, "FROM:")
	if !ok {
		ss.fail("501 5.5.4 Syntax: MAIL FROM:<address>")
		return
	}
	if ss.mailRateExceeded() {
		return
	}
	path, params, err := address.Options{}.Parse(rest, ss.cfg.SMTPUTF8)
	if err == nil && !path.Null {
		// As for RCPT: an address that resolves to no valid domain
		// ("a@b c", quoted) is a syntax error, so nothing invalid is queued.
		_, utf8 := address.Lookup(params, "SMTPUTF8")
		err = address.Options{AllowMinUser: ss.cfg.AllowMinUser}.CheckResolved(ss.srv.Policy.Resolve(path.Addr), utf8)
	}
	if err != nil {
		ss.fail(addressReply(err, "501 5.1.7 Bad sender address syntax"))
		return
	}
	// Restrictions and reject log lines see the sender as the client wrote
	// it; the queue file and the delivery log see it rewritten, <user> as
	// user@$myorigin (Postfix: smtpd "from=<user>", qmgr "from=<user@...>").
	addr, queued := "", ""
	if !path.Null && path.Addr != (address.Address{}) {
		addr = path.Addr.String()
		queued = addr
		if c := ss.srv.Policy.Canonical(path.Addr); c != path.Addr {
			queued = c.String()
		}
	}
	tx := &transaction{sender: addr}
	tx.env = queue.Envelope{Sender: queued, Protocol: "SMTP", Arrival: time.Now()}
	if ss.esmtp {
		tx.env.Protocol = "ESMTP"
	}
	var size int64
	for _, p := range params {
		switch p.Keyword {
		case "SIZE":
			size, tx.size = p.Size, p.Size
			if ss.cfg.MessageSizeLimit > 0 && p.Size > ss.cfg.MessageSizeLimit {
				ss.fail("552 5.3.4 Message size exceeds fixed limit")
				return
			}
		case "BODY":
			tx.env.EightBit = p.Decoded == "8BITMIME"
		case "SMTPUTF8":
			tx.env.SMTPUTF8 = true
		case "RET":
			tx.env.Ret = p.Decoded
		case "ENVID":
			tx.env.EnvID = p.Decoded
		case "AUTH":
			ss.mailAuthParam(ctx, tx, p.Value)
		default:
			ss.fail("555 5.5.4 Unsupported option: " + p.Raw)
			return
		}
	}
	if sc, ok := ss.srv.Queue.(queue.SpaceChecker); ok {
		if err := sc.CheckSpace(size); err != nil {
			// A shortage is reported once, by the first program it
			// refuses; each refused MAIL gets Postfix's reject line.
			switch {
			case queue.FirstShortage(err):
				ss.logWarn("%v", err)
			case !errors.Is(err, queue.ErrNoSpace):
				ss.logWarn("%s: %v", ss.queueID(), err)
			}
			ss.req.Sender = addr
			ss.reject("MAIL", policy.Verdict{Reply: "452 4.3.1 Insufficient system storage"})
			return
		}
	}
	ss.req.Sender = addr
	if !ss.cfg.DelayReject {
		for _, l := range []struct {
			name  string
			stage policy.Stage
		}{{"smtpd_client_restrictions", policy.Client}, {"smtpd_helo_restrictions", policy.Helo}, {"smtpd_sender_restrictions", policy.Sender}} {
			v := ss.srv.Policy.Check(ctx, l.name, l.stage, &ss.req)
			if v.Kind != policy.Reject && l.stage == policy.Sender {
				v = ss.unlistedSender(ctx, v)
			}
			if v.Kind == policy.Reject {
				ss.reject("MAIL", v) // the log line names the refused sender
				ss.req.Sender = ""
				return
			}
			tx.prepend = append(tx.prepend, v.Prepend...)
			ss.logHold("MAIL", v)
			tx.env.Hold = tx.env.Hold || v.Hold != ""
		}
	}
	if ss.sendLimitMail() {
		ss.req.Sender = ""
		return
	}
	if ss.milters != nil {
		args := make([]string, 0, len(params))
		for _, p := range params {
			args = append(args, p.Raw)
		}
		if r := ss.milterReply("MAIL", ss.milters.Mail(ctx, "<"+addr+">", args), &tx.milterHold, &tx.milterDiscard); r != "" {
			ss.milters.Abort(ctx)
			ss.milterFail(r)
			ss.req.Sender = ""
			return
		}
	}
	ss.tx = tx
	ss.reply("250 2.1.0 Ok")
}

func (ss *session) cmdRcpt(ctx context.Context, arg string) {
	if ss.tx == nil {
		ss.fail("503 5.5.1 Error: need MAIL command")
		return
	}
	rest, ok := cutPrefixFold(arg, "TO:")
	if !ok {
		ss.fail("501 5.5.4 Syntax: RCPT TO:<address>")
		return
	}
	if ss.rcptRateExceeded() {
		return
	}
	opt := address.Options{Rcpt: true, AllowMinUser: ss.cfg.AllowMinUser}
	path, params, err := opt.Parse(rest, ss.tx.env.SMTPUTF8)
	var resolved address.Address
	if err == nil {
		resolved = ss.srv.Policy.Resolve(path.Addr)
		err = opt.CheckResolved(resolved, ss.tx.env.SMTPUTF8)
	}
	if err != nil {
		ss.fail(addressReply(err, "501 5.1.3 Bad recipient address syntax"))
		return
	}
	// addr, as the client wrote it, is what replies and reject log lines
	// name; everything after acceptance uses the one resolved address
	// (<user> is user@$myorigin, user%remote@local is user@remote: where
	// Postfix's queue manager delivers it), and orig_to= remembers addr.
	addr := path.Addr.String()
	if len(ss.tx.env.Recipients) >= ss.cfg.RecipientLimit {
		// As Postfix: past smtpd_recipient_overshoot_limit more, each
		// one counts as an error, so smtpd_hard_error_limit ends it.
		if ss.tx.overshoot++; ss.tx.overshoot > ss.cfg.RecipientOvershoot {
			ss.fail("452 4.5.3 Error: too many recipients")
			return
		}
		ss.reply("452 4.5.3 Error: too many recipients")
		return
	}
	r := queue.Recipient{Addr: addr}
	if resolved != path.Addr {
		r.Addr = resolved.String()
		if orig := path.Addr.Resplit(); orig != resolved {
			r.Orig = orig.String() // orig_to=, in Postfix's form
		}
	}
	for _, p := range params {
		switch p.Keyword {
		case "NOTIFY":
			r.Notify = p.Decoded
		case "ORCPT":
			r.ORcpt = p.AddrType + ";" + p.Decoded
		default:
			ss.fail("555 5.5.4 Unsupported option: " + p.Raw)
			return
		}
	}
	ss.req.RcptAddr = path.Addr
	ss.req.Recipient = addr
	// RFC 5321 section 4.5.1: <postmaster> is always accepted. As in
	// Postfix (smtpd_check_rcpt), no restriction applies to it.
	var v policy.Verdict
	if !isPostmaster(path.Addr) {
		v = ss.checkRecipient(ctx)
	}
	if v.Kind == policy.Reject {
		ss.tx.rejected++
		ss.reject("RCPT", v)
		return
	} else if v.Discard {
		ss.tx.discard = true
	}
	// PREPEND and HOLD apply once the recipient is accepted; the hold
	// is logged now, as Postfix logs it while the restrictions run.
	prepend, hold := v.Prepend, v.Hold != ""
	ss.logHold("RCPT", v)
	if ss.sendLimitRcpt() {
		ss.tx.rejected++
		return
	}
	if ss.milters != nil {
		args := make([]string, 0, len(params))
		for _, p := range params {
			args = append(args, p.Raw)
		}
		if r := ss.milterReply("RCPT", ss.milters.Rcpt(ctx, "<"+addr+">", args), &ss.tx.milterHold, &ss.tx.milterDiscard); r != "" {
			ss.tx.rejected++
			ss.milterFail(r)
			return
		}
	}
	if ss.tx.env.ID == "" {
		// Postfix creates the queue file, and so the ID, at the first
		// accepted recipient; later log lines and Received: carry it.
		ss.tx.env.ID = ss.srv.newID()
		ss.log("%s: client=%s%s", ss.tx.env.ID, ss.req.Client(), ss.saslLogFields())
	}
	ss.tx.env.Recipients = append(ss.tx.env.Recipients, r)
	ss.tx.prepend = append(ss.tx.prepend, prepend...)
	ss.tx.env.Hold = ss.tx.env.Hold || hold
	ss.reply("250 2.1.5 Ok")
}

// checkRecipient runs the lists that decide a RCPT: with
// smtpd_delay_reject the client, HELO and sender lists first (each decides
// only for itself), then relay and recipient lists in Postfix's order,
// then reject_unlisted_recipient. A defer_if_permit raised anywhere waits
// until all of them have had their say: a later reject wins over it.
func (ss *session) checkRecipient(ctx context.Context) policy.Verdict {
	type list struct {
		name  string
		stage policy.Stage
	}
	var lists []list
	if ss.cfg.DelayReject {
		lists = append(lists, list{"smtpd_client_restrictions", policy.Client}, list{"smtpd_helo_restrictions", policy.Helo}, list{"smtpd_sender_restrictions", policy.Sender})
	}
	relay, rcpt := list{"smtpd_relay_restrictions", policy.Recipient}, list{"smtpd_recipient_restrictions", policy.Recipient}
	if ss.cfg.RelayFirst {
		lists = append(lists, relay, rcpt)
	} else {
		lists = append(lists, rcpt, relay)
	}
	discard := false
	var prepend []string
	hold := ""
	var pending policy.Verdict
	for _, l := range lists {
		v := ss.srv.Policy.Check(ctx, l.name, l.stage, &ss.req)
		if v.Kind != policy.Reject && l.stage == policy.Sender {
			v = ss.unlistedSender(ctx, v)
		}
		if v.Kind == policy.Reject && v.DeferIfPermit {
			if pending.Kind != policy.Reject {
				pending = v
			}
			continue
		}
		if v.Kind == policy.Reject {
			return v
		}
		discard = discard || v.Discard
		prepend = append(prepend, v.Prepend...)
		if hold == "" {
			hold = v.Hold
		}
	}
	v := ss.srv.Policy.Unlisted(ctx, &ss.req)
	if v.Kind != policy.Reject && pending.Kind == policy.Reject {
		return pending
	}
	v.Discard = v.Discard || discard
	v.Prepend = prepend
	if v.Hold == "" {
		v.Hold = hold
	}
	return v
}

// unlistedSender applies smtpd_reject_unlisted_sender once the sender
// list has permitted (v): at MAIL, or at each RCPT with
// smtpd_delay_reject, as Postfix's smtpd_check_mail does. A discarded
// transaction is not checked.
func (ss *session) unlistedSender(ctx context.Context, v policy.Verdict) policy.Verdict {
	if v.Discard {
		return v
	}
	if u := ss.srv.Policy.UnlistedSender(ctx, &ss.req); u.Kind == policy.Reject {
		return u
	}
	return v
}

// isPostmaster is the bare <postmaster>, in any case. postmaster@ a local
// domain passes the restrictions like any address, and is exempt from the
// local_recipient_maps lookup (policy). A source route does not count:
// Postfix's smtpd drops it before smtpd_check_rcpt compares the address
// with "postmaster", so <@x:postmaster> is accepted too (checked against
// Postfix 3.7.11: dialog 46).
func isPostmaster(a address.Address) bool {
	return a.Domain == "" && strings.EqualFold(a.Local, "postmaster")
}

// cutPrefixFold removes a case-insensitive prefix and following blanks.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return strings.TrimLeft(s[len(prefix):], " "), true
}

// addressReply is the reply for an address or parameter error.
func addressReply(err error, fallback string) string {
	var ae *address.Error
	if errors.As(err, &ae) {
		return ae.Reply()
	}
	return fallback
}
