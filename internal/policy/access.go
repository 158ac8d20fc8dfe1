package policy

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/maps"
)

// access implements check_*_access: lookup finds the first key present
// in the table, in Postfix's order for the kind of key (DUNNO included,
// which stops less specific keys).
func (p *Policy) access(ctx context.Context, e *eval, spec string, st Stage, lookup func(maps.Table) (string, bool, error)) Verdict {
	if e.st < st {
		return Verdict{}
	}
	// A table that cannot answer: Postfix 3.7.11 logs "hash:/x is
	// unavailable. open database /x.db: ..." and answers "451 4.3.5
	// <addr>: Recipient address rejected: Server configuration error"
	// (measured with a missing check_recipient_access table).
	t, err := p.open(spec)
	if err != nil {
		p.warn("%v", &TableError{Table: spec, Open: true, Err: err})
		return rejectf(451, "4.3.5", e.req.subject(st), st, "Server configuration error")
	}
	v, found, err := lookup(t)
	if err != nil {
		p.warn("%s lookup error: %v", spec, err)
		return rejectf(451, "4.3.5", e.req.subject(st), st, "Server configuration error")
	}
	if !found {
		return Verdict{}
	}
	return p.accessResult(ctx, e, st, strings.TrimSpace(v))
}

// accessResult interprets an access(5) table result.
func (p *Policy) accessResult(ctx context.Context, e *eval, st Stage, v string) Verdict {
	word, text, _ := strings.Cut(v, " ")
	text = strings.TrimSpace(text)
	subject := e.req.subject(st)
	switch strings.ToUpper(word) {
	case "OK":
		return Verdict{Kind: Permit}
	case "DUNNO":
		return Verdict{}
	case "REJECT":
		return rejectf(p.codes.accessReject, "5.7.1", subject, st, orText(text, "Access denied"))
	case "DEFER":
		return rejectf(p.codes.accessDefer, "4.7.1", subject, st, orText(text, "Access denied"))
	case "DEFER_IF_REJECT":
		e.deferIfReject = true
		return Verdict{}
	case "DEFER_IF_PERMIT":
		dsn := "4.7.1"
		if d, rest, _ := strings.Cut(text, " "); isDSN(d) {
			dsn, text = d, strings.TrimSpace(rest)
		}
		e.deferIfPermit(rejectf(p.codes.accessDefer, dsn, subject, st, orText(text, "Service unavailable")))
		return Verdict{}
	case "DISCARD":
		return Verdict{Kind: Permit, Discard: true, Log: orText(text, "triggers DISCARD action")}
	case "WARN", "INFO":
		p.warn("%s: %s", subject, text)
		return Verdict{}
	case "PREPEND":
		// As Postfix: the text must be a header; the list goes on.
		name, _, ok := strings.Cut(text, ":")
		if !ok || !isHeaderName(name) || strings.ContainsFunc(text, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			p.warn("access table or policy action \"%s\" requires header: text", v)
			return Verdict{}
		}
		if e.st == EndOfData {
			p.warn("PREPEND action \"%s\" at end of data: the header is not added (the message is complete)", text)
			return Verdict{}
		}
		e.prepend = append(e.prepend, text)
		return Verdict{}
	case "HOLD":
		if e.st == EndOfData {
			return p.unsupported(subject, st, "HOLD at end of data")
		}
		if e.hold == "" {
			e.hold = fmt.Sprintf("<%s>: %s %s", subject, st.word(), orText(text, "triggers HOLD action"))
		}
		return Verdict{}
	case "REDIRECT", "FILTER", "BCC":
		return p.unsupported(subject, st, strings.ToUpper(word))
	}
	if code, err := strconv.Atoi(word); err == nil && len(word) == 3 && (word[0] == '4' || word[0] == '5') {
		dsn := word[:1] + ".7.1"
		if d, rest, ok := strings.Cut(text, " "); ok && isDSN(d) && d[0] == word[0] {
			dsn, text = d, strings.TrimSpace(rest)
		} else if isDSN(text) && text[0] == word[0] {
			dsn, text = text, ""
		}
		return Verdict{Kind: Reject, Reply: fmt.Sprintf("%d %s <%s>: %s rejected: %s", code, dsn, subject, st.word(), text)}
	}
	// Restriction names (and classes) as the result.
	return p.run(ctx, e, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }))
}

// unsupported answers an action postern does not carry out yet
// (REDIRECT, FILTER, BCC; HOLD at end of data). Acting as DUNNO would
// deliver mail its table or policy service meant to go elsewhere, past
// a filter, or on hold: the client is told to try again later, with
// Postfix's reply for a configuration problem, and a warning names the
// action, so nothing is lost and nothing passes unenforced.
func (p *Policy) unsupported(subject string, st Stage, action string) Verdict {
	p.warn("access table or policy action %s is not implemented: the client is told to try again later", action)
	return rejectf(451, "4.3.5", subject, st, "Server configuration problem")
}

// isHeaderName: printable ASCII without space or colon (RFC 5322 field name).
func isHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' || s[i] == ':' {
			return false
		}
	}
	return s != ""
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func isDSN(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return true
}

// The lookup orders of access(5), as measured against Postfix by internal/maps.

func (p *Policy) clientLookup(r *Request) func(maps.Table) (string, bool, error) {
	name := r.ClientName
	if name == "unknown" {
		name = ""
	}
	return func(t maps.Table) (string, bool, error) {
		return maps.LookupClient(t, r.ClientAddr.Unmap().WithZone("").String(), name, p.parentAcc)
	}
}

func (p *Policy) heloLookup(r *Request) func(maps.Table) (string, bool, error) {
	return func(t maps.Table) (string, bool, error) {
		if r.Helo == "" {
			return "", false, nil
		}
		return maps.LookupDomain(t, r.Helo, p.parentAcc)
	}
}

// addressLookup: the null sender is looked up as "<>"
// (smtpd_null_access_lookup_key); an absent recipient not at all.
func (p *Policy) addressLookup(addr string, sender bool) func(maps.Table) (string, bool, error) {
	return func(t maps.Table) (string, bool, error) {
		switch {
		case addr == "" && sender:
			return t.Lookup("<>")
		case addr == "":
			return "", false, nil
		}
		return maps.LookupAddressParent(t, addr, p.delimiter, p.parentAcc)
	}
}
