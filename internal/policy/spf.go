package policy

import (
	"context"
	"net"
	"strings"

	"github.com/postern-mta/postern/internal/spf"
)

// rejectSPFFail is reject_spf_fail (postern only; Postfix sites run
// postfix-policyd-spf-python for it): the SPF check of the MAIL FROM
// identity (the HELO identity for the null sender, RFC 7208 section
// 2.4) that fails is refused as that policy server refuses it,
// "550 5.7.23" (RFC 7372: SPF validation failed) with the domain's
// explanation (exp=) or "SPF fail - not authorized"; a temporary DNS
// failure answers 451 4.4.3; every other result goes on (DUNNO).
// Trusted clients (authenticated, $mynetworks) are never checked.
func rejectSPFFail(ctx context.Context, p *Policy, e *eval, _ string) Verdict {
	if e.st < Sender || e.req.SASLUser != "" || !e.req.ClientAddr.IsValid() {
		return Verdict{}
	}
	mine, err := p.mynetworks.matchClient(e.req.ClientAddr, e.req.ClientName, p.open)
	if err != nil {
		p.warnTable(err)
		return lookupFailure(e.req.subject(e.st))
	}
	if mine {
		return Verdict{}
	}
	var r spf.Resolver = net.DefaultResolver
	if p.SPFResolver != nil {
		r = p.SPFResolver
	}
	c := spf.Checker{Resolver: r, Receiver: p.hostname}
	o := c.CheckMailFrom(ctx, e.req.ClientAddr, e.req.Helo, e.req.Sender)
	switch o.Result {
	case spf.Fail:
		why := "SPF fail - not authorized"
		if exp := printable(o.Explanation, 200); exp != "" {
			why = exp
		}
		return rejectf(550, "5.7.23", e.req.subject(e.st), e.st, "Message rejected due to: "+why)
	case spf.TempError:
		return rejectf(451, "4.4.3", e.req.subject(e.st), e.st, "SPF "+spfIdentity(e.req.Sender)+" check temporary error, try again later")
	}
	return Verdict{}
}

func spfIdentity(sender string) string {
	if sender == "" {
		return "HELO"
	}
	return "MAIL FROM"
}

// printable keeps a DNS-supplied text fit for an SMTP reply: printable
// ASCII on one line, at most max bytes.
func printable(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > max {
		s = s[:max]
	}
	return s
}
