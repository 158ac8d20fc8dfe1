package rewrite

import (
	"context"
	"strings"

	"github.com/postern-mta/postern/internal/cleanup"
)

// Header fields whose addresses cleanup rewrites, by class (Postfix's
// header_opts: HDR_OPT_SENDER, HDR_OPT_RECIP).
var (
	senderFields = map[string]bool{"from": true, "sender": true, "reply-to": true, "errors-to": true,
		"return-receipt-to": true, "mail-followup-to": true, "disposition-notification-to": true,
		"resent-from": true, "resent-sender": true}
	recipientFields = map[string]bool{"to": true, "cc": true, "bcc": true, "apparently-to": true,
		"resent-to": true, "resent-cc": true, "resent-bcc": true, "resent-reply-to": true}
)

// HeaderActive reports whether anything is rewritten in headers: a
// header class with a table (or masquerade_domains) for it.
func (r *Rewriter) HeaderActive() bool {
	if r == nil {
		return false
	}
	c := &r.c
	const both = HeaderSender | HeaderRecipient
	return (len(c.Canonical) > 0 && c.CanonicalClasses&both != 0 ||
		len(c.SenderCanonical) > 0 && c.SenderClasses&HeaderSender != 0 ||
		len(c.RecipientCanonical) > 0 && c.RecipientClasses&HeaderRecipient != 0 ||
		len(c.Masquerade) > 0 && c.MasqueradeClasses&both != 0)
}

// Headers is cleanup's rewriting of header addresses for the messages
// of one origin: qualify completes an unqualified address
// (user@$myorigin for local clients, @$remote_header_rewrite_domain for
// others).
type Headers struct {
	r       *Rewriter
	qualify func(string) string
}

// HeaderStage returns the header rewriting stage, qualify as for
// Headers, or nil when nothing is rewritten in headers.
func (r *Rewriter) HeaderStage(qualify func(string) string) cleanup.Stage {
	if !r.HeaderActive() {
		return nil
	}
	return &Headers{r: r, qualify: qualify}
}

// Apply rewrites the addresses of the sender and recipient fields in
// place (the rest of each field, folding included, is kept): through
// the canonical tables and masquerading of the header classes. A table
// that cannot answer refuses the message for now (451).
func (h *Headers) Apply(_ context.Context, m *cleanup.Message) cleanup.Verdict {
	for i, f := range m.Header.Fields {
		name := strings.ToLower(f.Name())
		sender, rcpt := senderFields[name], recipientFields[name]
		if !sender && !rcpt {
			continue
		}
		colon := strings.IndexByte(f.Raw, ':') + 1
		raw := f.Raw[colon:]
		spans := addrSpans(raw)
		if len(spans) == 0 {
			continue
		}
		var b strings.Builder
		last, changed := 0, false
		for _, sp := range spans {
			addr := raw[sp[0]:sp[1]]
			n := addr
			if !strings.Contains(n, "@") && h.qualify != nil {
				n = h.qualify(n)
			}
			var err error
			if sender {
				n, err = h.r.sender(n, HeaderSender, m.Env.ID)
			} else {
				n, err = h.r.recipient(n, HeaderRecipient, m.Env.ID)
			}
			if err != nil {
				err = h.r.fail(m.Env.ID, err)
				reply := "451 4.3.0 Error: temporary lookup failure"
				if e, ok := err.(*Error); ok {
					reply = e.Reply
				}
				return cleanup.Verdict{Action: cleanup.Reject, Reply: reply, Reason: err.Error(), Source: "cleanup"}
			}
			if n != addr {
				b.WriteString(raw[last:sp[0]])
				b.WriteString(n)
				last, changed = sp[1], true
			}
		}
		if changed {
			b.WriteString(raw[last:])
			m.Header.Fields[i] = cleanup.Field{Raw: f.Raw[:colon] + b.String()}
		}
	}
	return cleanup.Verdict{}
}

// addrSpans finds the addresses of an address-list header value (RFC
// 5322: mailboxes, name-addrs, groups; comments and quoted strings
// skipped): the byte ranges of each addr-spec, without the <> and any
// source route. An element that is neither "<addr>" nor a single bare
// word is left alone.
func addrSpans(v string) [][2]int {
	var spans [][2]int
	start := 0
	angle, angleStart := false, 0
	var angleSpan [2]int
	hasAngle := false
	depth, quoted, esc := 0, false, false
	element := func(end int) {
		if hasAngle {
			if angleSpan[1] > angleSpan[0] {
				spans = append(spans, angleSpan)
			}
		} else if s, ok := bareAddr(v, start, end); ok {
			spans = append(spans, s)
		}
		hasAngle = false
		start = end + 1
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case esc:
			esc = false
		case c == '\\' && (quoted || depth > 0):
			esc = true
		case quoted:
			if c == '"' {
				quoted = false
			}
		case depth > 0:
			if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case angle:
			if c == '>' {
				angle, hasAngle = false, true
				s := angleStart
				if j := strings.LastIndexByte(v[s:i], ':'); j >= 0 && strings.HasPrefix(v[s:i], "@") {
					s += j + 1 // a source route: @a,@b:user@domain
				}
				angleSpan = [2]int{s, i}
			}
		case c == '<':
			angle, angleStart = true, i+1
		case c == ',' || c == ';':
			element(i)
		case c == ':' && !hasAngle:
			start = i + 1 // a group's name
		}
	}
	if !angle && !quoted && depth == 0 {
		element(len(v))
	}
	return spans
}

// bareAddr is the address of an element without <>: its one word
// outside comments and white space (a quoted local part included).
func bareAddr(v string, start, end int) ([2]int, bool) {
	s, e := -1, -1
	depth, quoted, esc := 0, false, false
	words := 0
	for i := start; i < end; i++ {
		c := v[i]
		switch {
		case esc:
			esc = false
			continue
		case c == '\\' && (quoted || depth > 0):
			esc = true
			continue
		case quoted:
			if c == '"' {
				quoted = false
			}
			e = i + 1
			continue
		case depth > 0:
			if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
			continue
		case c == '(':
			depth++
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		case c == '"':
			quoted = true
		}
		if e != i { // a new word
			words++
			s = i
		}
		e = i + 1
	}
	return [2]int{s, e}, words == 1 && s >= 0
}

// HeaderRules pick the header rewriting of a message's origin, as
// Postfix's cleanup picks its header rewriting context: local
// submissions and the clients of local_header_rewrite_clients get it
// with unqualified addresses completed by Qualify; other clients only
// when remote_header_rewrite_domain is set, with that domain.
type HeaderRules struct {
	R            *Rewriter
	LocalClient  func(o cleanup.Origin) bool
	Qualify      func(string) string
	RemoteDomain string
}

// For returns the header stage for a message of origin o, nil when its
// headers are not rewritten.
func (h *HeaderRules) For(o cleanup.Origin) cleanup.Stage {
	switch {
	case h == nil || !h.R.HeaderActive():
		return nil
	case o.Local || h.LocalClient != nil && h.LocalClient(o):
		return h.R.HeaderStage(h.Qualify)
	case h.RemoteDomain != "":
		d := h.RemoteDomain
		return h.R.HeaderStage(func(a string) string { return a + "@" + d })
	}
	return nil
}
