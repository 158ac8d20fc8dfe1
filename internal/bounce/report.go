package bounce

import (
	"bytes"
	"strings"

	"github.com/postern-mta/postern/internal/queue"
)

// writer accumulates a notice, CRLF line by line.
type writer struct {
	buf      bytes.Buffer
	host     string
	xname    string // "Postern" in X-Postern-Queue-ID
	smtputf8 bool
	boundary string
}

func (w *writer) line(s string) {
	w.buf.WriteString(s)
	w.buf.WriteString("\r\n")
}

// partStart writes the delimiter and header of a body part.
func (w *writer) partStart(description, contentType string, eightBit bool) {
	w.line("")
	w.line("--" + w.boundary)
	w.line("Content-Description: " + description)
	w.line("Content-Type: " + contentType)
	if eightBit {
		w.line("Content-Transfer-Encoding: 8bit")
	}
	w.line("")
}

// notification is the text/plain part: the template's boilerplate (not in
// postmaster notices) and "<rcpt>: reason" for each recipient.
func (w *writer) notification(p *Params, eightBit, toPostmaster bool) {
	charset := "us-ascii"
	if eightBit {
		charset = "utf-8"
	}
	w.partStart("Notification", "text/plain; charset="+charset, eightBit)
	if !toPostmaster {
		w.buf.WriteString(templateText(p.Kind, w.host, p.DelayWarning, p.lifetime()))
	}
	for _, i := range p.Rcpts {
		w.line("")
		rcpt := mask(p.Env.Recipients[i].Addr, w.smtputf8)
		w.line(wrap("<"+rcpt+">: "+reason(p.Status[i], w.smtputf8), wrapWidth, wrapIndent))
	}
}

// deliveryStatus is the message/delivery-status part (RFC 3464 section
// 2): per-message fields, then a block of per-recipient fields for each
// recipient.
func (w *writer) deliveryStatus(p *Params, eightBit bool) {
	env := p.Env
	if w.smtputf8 {
		w.partStart("Delivery report", "message/global-delivery-status", eightBit)
	} else {
		w.partStart("Delivery report", "message/delivery-status", false)
	}
	w.line("Reporting-MTA: dns; " + w.host)
	if env.EnvID != "" {
		w.line("Original-Envelope-Id: " + mask(env.EnvID, false))
	}
	w.line("X-" + w.xname + "-Queue-ID: " + mask(p.ID, false))
	sender := w.returnPath(env.Sender)
	w.line("X-" + w.xname + "-Sender: " + addressType(sender, w.smtputf8) + "; " + sender)
	if !env.Arrival.IsZero() {
		w.line("Arrival-Date: " + mailDate(env.Arrival))
	}
	for _, i := range p.Rcpts {
		st := p.Status[i]
		tmpl := templates[p.Kind]
		rcpt := mask(env.Recipients[i].Addr, w.smtputf8)
		w.line("")
		w.line("Final-Recipient: " + addressType(rcpt, w.smtputf8) + "; " + rcpt)
		if o := env.Recipients[i].ORcpt; o != "" {
			w.line("Original-Recipient: " + mask(o, w.smtputf8))
		}
		action := tmpl.action
		if p.Kind != Failure && st.Action != "" {
			action = mask(st.Action, false)
		}
		w.line("Action: " + action)
		status := tmpl.status
		if st.DSN != "" {
			status = mask(st.DSN, false)
		}
		w.line("Status: " + status)
		if mta := mask(st.RemoteMTA, w.smtputf8); strings.Contains(mta, ";") {
			w.line(wrap("Remote-MTA: "+mta, wrapWidth, wrapIndent))
		}
		diag := mask(st.Diagnostic, w.smtputf8)
		if !strings.Contains(diag, ";") {
			diag = "X-" + w.xname + "; " + reason(st, w.smtputf8)
		}
		w.line(wrap("Diagnostic-Code: "+diag, wrapWidth, wrapIndent))
		if p.Kind == Delay {
			arrival := env.Arrival
			if arrival.IsZero() {
				arrival = p.Now
			}
			w.line("Will-Retry-Until: " + mailDate(arrival.Add(p.lifetime())))
		}
	}
}

// original is the returned message: message/rfc822 or, headers only,
// text/rfc822-headers (message/global… for SMTPUTF8 mail, RFC 6532), with
// a Return-Path: header as Postfix prepends one; then the final boundary.
func (w *writer) original(p *Params, orig original, undelivered, headersOnly, eightBit bool) {
	desc, ctype := "Message", "message/rfc822"
	switch {
	case headersOnly && w.smtputf8:
		desc, ctype = "Message Headers", "message/global-headers"
	case headersOnly:
		desc, ctype = "Message Headers", "text/rfc822-headers"
	case w.smtputf8:
		ctype = "message/global"
	}
	if undelivered {
		desc = "Undelivered " + desc
	}
	w.partStart(desc, ctype, eightBit)
	if p.Content == nil {
		w.line("\t--- Undelivered message unavailable ---")
	} else {
		w.line("Return-Path: <" + w.returnPath(p.Env.Sender) + ">")
		w.buf.Write(orig.data)
	}
	w.line("")
	w.line("--" + w.boundary + "--")
}

// returnPath is the original sender as reports show it: MAILER-DAEMON for
// the null sender, as Postfix's X-Postfix-Sender and Return-Path do.
func (w *writer) returnPath(sender string) string {
	if sender == "" {
		return "MAILER-DAEMON@" + w.host
	}
	return mask(sender, w.smtputf8)
}

// reason is the human-readable reason for one recipient: the maillog
// status text, else the text of the Diagnostic-Code.
func reason(st queue.RcptStatus, utf8OK bool) string {
	if st.Reason != "" {
		return mask(st.Reason, utf8OK)
	}
	if _, text, ok := strings.Cut(st.Diagnostic, ";"); ok && strings.TrimSpace(text) != "" {
		return mask(strings.TrimSpace(text), utf8OK)
	}
	return "no reason given"
}
