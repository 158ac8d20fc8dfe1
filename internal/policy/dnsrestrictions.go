package policy

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/config"
)

// The restrictions that consult the DNS, after smtpd_check.c (Postfix 3.7).

// unknownAddress is reject_unknown_sender_domain and
// reject_unknown_recipient_domain (reject_unknown_address): the domain
// of the resolved address needs an MX, A or AAAA record, unless it is
// local or an address literal. A null MX is refused with Postfix's
// RFC 7505 codes.
func (p *Policy) unknownAddress(ctx context.Context, e *eval, st Stage) Verdict {
	addr, dsn, a := e.req.Sender, "4.1.8", address.Address{}
	if st == Recipient {
		addr, dsn, a = e.req.Recipient, "4.1.2", e.req.RcptAddr
	}
	if addr == "" || e.st < st {
		return Verdict{}
	}
	r, _, err := p.resolveRecipient(a, addr)
	if err != nil {
		p.warnTable(err)
		return lookupFailure(addr)
	}
	domain := strings.TrimSuffix(r.Domain, ".")
	if domain == "" || strings.HasPrefix(domain, "[") {
		return Verdict{}
	}
	if local, err := p.isLocal(domain); err != nil {
		p.warnTable(err)
		return lookupFailure(addr)
	} else if local {
		return Verdict{}
	}
	switch p.lookupTypes(ctx, domain, true, "MX", "A", "AAAA") {
	case dnsOK:
		return Verdict{}
	case dnsNullMX:
		text := "Domain " + domain + " does not accept mail (nullMX)"
		if st == Sender {
			return rejectf(550, "5.7.27", addr, st, text)
		}
		return rejectf(556, "5.1.10", addr, st, text)
	case dnsRetry:
		return tempfail(e, rejectf(450, dsn, addr, st, "Domain not found"), p.dns.deferAddr)
	}
	return rejectf(p.codes.unknownAddr, dsn, addr, st, "Domain not found")
}

// unknownHelo is reject_unknown_helo_hostname (reject_unknown_hostname):
// the HELO name needs an A, AAAA or MX record; a null MX is enough
// ("allow MTA names to have nullMX records").
func unknownHelo(ctx context.Context, p *Policy, e *eval, _ string) Verdict {
	h := e.req.Helo
	if h == "" {
		return Verdict{}
	}
	if strings.HasPrefix(h, "[") {
		if validHelo(h) {
			return Verdict{}
		}
		return rejectf(p.codes.invalidHost, "5.5.2", h, Helo, "invalid ip address")
	}
	switch p.lookupTypes(ctx, h, false, "A", "AAAA", "MX") {
	case dnsOK, dnsNullMX:
		return Verdict{}
	case dnsRetry:
		return tempfail(e, rejectf(450, "4.7.1", h, Helo, "Host not found"), p.dns.deferName)
	}
	return rejectf(p.codes.unknownName, "4.7.1", h, Helo, "Host not found")
}

// unknownClient is reject_unknown_client_hostname: the client has no
// forward-confirmed name. A temporary DNS failure always answers 450.
func unknownClient(_ context.Context, p *Policy, e *eval, _ string) Verdict {
	if e.req.ClientName != "" && e.req.ClientName != "unknown" {
		return Verdict{}
	}
	return unknownName(p, e.req.ClientNameTemp, "4.7.25", "cannot find your hostname", e.req.ClientAddr)
}

// unknownReverseClient is reject_unknown_reverse_client_hostname: the
// client address has no PTR name at all.
func unknownReverseClient(_ context.Context, p *Policy, e *eval, _ string) Verdict {
	if e.req.ReverseName != "" && e.req.ReverseName != "unknown" {
		return Verdict{}
	}
	return unknownName(p, e.req.ReverseNameTemp, "4.7.1", "cannot find your reverse hostname", e.req.ClientAddr)
}

func unknownName(p *Policy, temp bool, dsn, text string, addr netip.Addr) Verdict {
	code := p.codes.unknownClient
	if temp {
		code = 450
	}
	return Verdict{Kind: Reject, Reply: fmt.Sprintf("%d %s%s Client host rejected: %s, [%s]",
		code, classDigit(code), dsn[1:], text, addr.Unmap())}
}

// rblTextLimit is RBL_TXT_LIMIT: TXT records are joined up to this size.
const rblTextLimit = 500

// rblClient is reject_rbl_client zone[=pattern]: the client is listed
// when the reversed address under zone has an A record (matching the
// pattern, if any). A DNS failure never blocks mail.
func rblClient(ctx context.Context, p *Policy, e *eval, arg string) Verdict {
	zone, pattern, hasPattern := strings.Cut(arg, "=")
	a := e.req.ClientAddr.Unmap()
	if !a.IsValid() {
		return Verdict{}
	}
	q := fqdn(rblName(a) + "." + zone)
	ctx, cancel := context.WithTimeout(ctx, dnsTimeout)
	defer cancel()
	r := p.resolver()
	ips, err := r.LookupNetIP(ctx, "ip4", q)
	if err != nil || len(ips) == 0 {
		if statusOf(err) == dnsRetry {
			p.warn("%s: RBL lookup error: Host or domain name not found. Name service error for name=%s type=A: Host not found, try again",
				strings.TrimSuffix(q, "."), strings.TrimSuffix(q, "."))
		}
		return Verdict{}
	}
	if hasPattern {
		match, err := matchRBLReply(pattern, ips)
		if err != nil {
			p.warn("RBL reply error: %v", err)
			return serverConfigError
		}
		if !match {
			return Verdict{}
		}
	}
	var reason string
	if txt, err := r.LookupTXT(ctx, q); err == nil {
		reason = strings.Join(txt, " / ")
		if len(reason) > rblTextLimit {
			reason = reason[:rblTextLimit]
		}
	}
	return p.rblReply(e, zone, a.String(), reason)
}

// rblName is the address as a DNSBL key: IPv4 octets or IPv6 nibbles,
// reversed.
func rblName(a netip.Addr) string {
	if a.Is4() {
		o := a.As4()
		return fmt.Sprintf("%d.%d.%d.%d", o[3], o[2], o[1], o[0])
	}
	o := a.As16()
	var b strings.Builder
	for i := len(o) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "%x.%x.", o[i]&0xf, o[i]>>4)
	}
	return strings.TrimSuffix(b.String(), ".")
}

// rblReply expands default_rbl_reply ($rbl_code Service unavailable;
// $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; ...}).
func (p *Policy) rblReply(e *eval, zone, what, reason string) Verdict {
	vars := map[string]string{
		"rbl_code": strconv.Itoa(p.codes.rbl), "rbl_domain": zone, "rbl_reason": reason, "rbl_txt": reason,
		"rbl_what": what, "rbl_class": Client.word(), "client_address": what,
		"client_name": e.req.ClientName, "reverse_client_name": e.req.ReverseName,
		"helo_name": e.req.Helo, "sender": e.req.Sender, "recipient": e.req.Recipient,
	}
	ex := &config.Expander{Lookup: func(name string) (string, bool) { v, ok := vars[name]; return v, ok }}
	text, err := ex.Expand(p.dns.rblReply)
	if err != nil {
		p.warn("bad rbl reply template for domain %s: %s", zone, p.dns.rblReply)
		if text, err = ex.Expand(defaultRBLReply); err != nil {
			return serverConfigError
		}
	}
	code, rest, _ := strings.Cut(text, " ")
	n, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 || n < 400 || n > 599 {
		p.warn("rbl response code configuration error: %s", text)
		return Verdict{Kind: Reject, Reply: "450 4.7.1 Service unavailable"}
	}
	dsn := "4.7.1"
	if d, after, _ := strings.Cut(rest, " "); isDSN(d) {
		dsn, rest = d, after
	}
	if rest == "" {
		rest = "Service unavailable"
	}
	return Verdict{Kind: Reject, Reply: fmt.Sprintf("%d %s%s %s", n, classDigit(n), dsn[1:], rest)}
}

// matchRBLReply reports whether an address matches a reply pattern such
// as 127.0.0.2 or 127.0.0.[2..11] or 127.0.0.[2;4;6..8] (ip_match.c).
func matchRBLReply(pattern string, ips []netip.Addr) (bool, error) {
	octets := splitOctets(pattern)
	if len(octets) != 4 {
		return false, fmt.Errorf("%q: want four octets", pattern)
	}
	var sets [4][]([2]int)
	for i, o := range octets {
		items := []string{o}
		if strings.HasPrefix(o, "[") && strings.HasSuffix(o, "]") {
			items = strings.Split(o[1:len(o)-1], ";")
		}
		for _, item := range items {
			lo, hi, isRange := strings.Cut(item, "..")
			if !isRange {
				hi = lo
			}
			l, err1 := strconv.Atoi(lo)
			h, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil || l < 0 || h > 255 || l > h {
				return false, fmt.Errorf("%q: bad octet %q", pattern, o)
			}
			sets[i] = append(sets[i], [2]int{l, h})
		}
	}
	for _, ip := range ips {
		if !ip.Unmap().Is4() {
			continue
		}
		b, ok := ip.Unmap().As4(), true
		for i := range 4 {
			in := false
			for _, r := range sets[i] {
				in = in || int(b[i]) >= r[0] && int(b[i]) <= r[1]
			}
			ok = ok && in
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// splitOctets splits at the dots outside brackets: 127.0.0.[2..4].
func splitOctets(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
