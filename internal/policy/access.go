package policy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// access implements check_*_access: the first key found in the table
// decides (DUNNO included, which stops less specific keys).
func (p *Policy) access(ctx context.Context, e *eval, spec string, st Stage, keys []string) Verdict {
	if e.st < st || len(keys) == 0 {
		return Verdict{}
	}
	t, err := p.open(spec)
	if err != nil {
		p.warn("%s: %v", spec, err)
		return lookupFailure(e.req.subject(e.st))
	}
	if pt, ok := t.(interface{ Pattern() bool }); ok && pt.Pattern() {
		keys = wholeKeys(e.req, st) // cidr/regexp tables see whole strings only
	}
	for _, k := range keys {
		v, found, err := t.Lookup(k)
		if err != nil {
			p.warn("%s: lookup %s: %v", spec, k, err)
			return lookupFailure(e.req.subject(e.st))
		}
		if found {
			return p.accessResult(ctx, e, st, strings.TrimSpace(v))
		}
	}
	return Verdict{}
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
		e.deferIfPermit = true
		return Verdict{}
	case "DISCARD":
		return Verdict{Kind: Permit, Discard: true, Log: orText(text, "triggers DISCARD action")}
	case "WARN", "INFO":
		p.warn("%s: %s", subject, text)
		return Verdict{}
	case "HOLD", "REDIRECT", "FILTER", "BCC", "PREPEND":
		p.warn("access table action %s is not implemented yet; treated as DUNNO", word)
		return Verdict{}
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

// addressKeys: user+ext@domain, user@domain, domain and its parents (or
// .parent forms), user+ext@, user@; "<>" for the null sender.
func (p *Policy) addressKeys(addr string, sender bool) []string {
	if addr == "" {
		if sender {
			return []string{"<>"}
		}
		return nil
	}
	addr = strings.ToLower(addr)
	local, domain := splitAddr(addr)
	var keys []string
	base := local
	if p.delimiter != "" {
		if i := strings.IndexAny(local, p.delimiter); i > 0 {
			base = local[:i]
		}
	}
	keys = append(keys, addr)
	if base != local {
		keys = append(keys, base+"@"+domain)
	}
	if domain != "" {
		keys = append(keys, p.parentKeys(domain)...)
	}
	keys = append(keys, local+"@")
	if base != local {
		keys = append(keys, base+"@")
	}
	return keys
}

func (p *Policy) parentKeys(domain string) []string {
	domain = strings.TrimSuffix(domain, ".")
	keys := []string{domain}
	for d := domain; ; {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
		if p.parentAcc {
			keys = append(keys, d)
		} else {
			keys = append(keys, "."+d)
		}
	}
	return keys
}

func domainKeys(h string) []string {
	if h == "" {
		return nil
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	keys := []string{h}
	for d := h; strings.Contains(d, "."); {
		d = d[strings.IndexByte(d, '.')+1:]
		keys = append(keys, d)
	}
	return keys
}

// clientKeys: name and parent domains, then the address and its
// shorter forms (1.2.3.4, 1.2.3, 1.2, 1).
func clientKeys(r *Request) []string {
	var keys []string
	if r.ClientName != "" && r.ClientName != "unknown" {
		keys = domainKeys(r.ClientName)
	}
	a := r.ClientAddr.Unmap().WithZone("")
	if a.Is4() {
		parts := strings.Split(a.String(), ".")
		for n := 4; n >= 1; n-- {
			keys = append(keys, strings.Join(parts[:n], "."))
		}
		return keys
	}
	s := a.String()
	keys = append(keys, s)
	for strings.Contains(s, ":") {
		s = s[:strings.LastIndexByte(s, ':')]
		if s = strings.TrimRight(s, ":"); s == "" {
			break
		}
		keys = append(keys, s)
	}
	return keys
}

// wholeKeys are what pattern tables are asked: the client's name and
// address, the whole HELO name or address — never partial keys.
func wholeKeys(r *Request, st Stage) []string {
	switch st {
	case Client:
		var keys []string
		if r.ClientName != "" && r.ClientName != "unknown" {
			keys = append(keys, r.ClientName)
		}
		return append(keys, r.ClientAddr.Unmap().WithZone("").String())
	case Helo:
		return []string{r.Helo}
	case Sender:
		if r.Sender == "" {
			return []string{"<>"}
		}
		return []string{r.Sender}
	}
	return []string{r.Recipient}
}
