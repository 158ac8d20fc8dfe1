// Package spf evaluates Sender Policy Framework records (RFC 7208): the
// check_host() function for the MAIL FROM and HELO identities of a
// received message.
//
// Implemented: every mechanism (all, include, a, mx, ptr, ip4, ip6,
// exists) with qualifiers and dual CIDR lengths; the redirect and exp
// modifiers (unknown modifiers are checked for syntax and ignored);
// macros %{s l o d i p v h} with digit/reverse transformers and
// delimiters, upper-case URL escaping, %{c r t} in explanations, %% %_
// %-; the processing limits of RFC 7208 section 4.6.4 (10 DNS-querying
// terms, 2 void lookups, 10 MX names, 10 PTR names) and the truncation
// of over-long expanded names (section 7.3). A DNS failure yields
// temperror, never fail; a syntax error anywhere in a record, or a
// broken limit, yields permerror. Every lookup runs under a per-lookup
// deadline inside one deadline for the whole evaluation.
//
// Our own implementation rather than blitiri.com.ar/go/spf (v1.6.0,
// read for fit): that library does not evaluate exp= nor report which
// term matched, both needed for Received-SPF and Authentication-Results.
//
// Users: internal/mailauth (the Authentication-Results header, DMARC)
// and internal/policy's reject_spf_fail, both over internal/dnscache.
package spf

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Result is an SPF result under its RFC 7208 / RFC 8601 name.
type Result string

// The results of check_host (RFC 7208 section 2.6).
const (
	None      Result = "none"
	Neutral   Result = "neutral"
	Pass      Result = "pass"
	Fail      Result = "fail"
	SoftFail  Result = "softfail"
	TempError Result = "temperror"
	PermError Result = "permerror"
)

// Resolver is the DNS a check uses; *net.Resolver (and so
// dnstest.Server.Resolver()) satisfies it. Not-found answers must be
// *net.DNSError with IsNotFound set, as net.Resolver returns them.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

var _ Resolver = (*net.Resolver)(nil)

// Default deadlines: RFC 7208 section 4.6.4 asks for at least 20 seconds
// for a whole evaluation.
const (
	DefaultTimeout       = 20 * time.Second
	DefaultLookupTimeout = 5 * time.Second
)

// Checker evaluates SPF. The zero value uses net.DefaultResolver and the
// default deadlines. A Checker holds no state between checks (caching
// is the Resolver's: internal/dnscache) and is safe for concurrent use.
type Checker struct {
	Resolver      Resolver
	Timeout       time.Duration    // the whole evaluation; 0: DefaultTimeout
	LookupTimeout time.Duration    // each DNS lookup; 0: DefaultLookupTimeout
	Receiver      string           // %{r} in explanations; "" is "unknown"
	Now           func() time.Time // %{t}; nil is time.Now
}

// Outcome is the result of a check with what Received-SPF and
// Authentication-Results report.
type Outcome struct {
	Result   Result
	Identity string     // "mailfrom" or "helo"
	ClientIP netip.Addr // the client address checked
	Helo     string     // the HELO/EHLO name given
	Sender   string     // the <sender> checked: local@domain
	Domain   string     // the domain whose record was evaluated first
	// Mechanism is the term that decided: "-all", "include:x.example",
	// "default" (no term matched) or "" (none, errors).
	Mechanism string
	// Explanation is the expanded exp= text of a fail, if any.
	Explanation string
	// Problem says why the result is temperror or permerror.
	Problem string
	Lookups int // DNS-querying terms evaluated (limit 10)
}

// CheckMailFrom checks the MAIL FROM identity (RFC 7208 section 2.4):
// an empty reverse path is checked as postmaster@helo.
func (c *Checker) CheckMailFrom(ctx context.Context, ip netip.Addr, helo, mailFrom string) Outcome {
	if mailFrom == "" {
		o := c.CheckHelo(ctx, ip, helo)
		o.Identity = "mailfrom"
		return o
	}
	return c.check(ctx, ip, helo, mailFrom, "mailfrom")
}

// CheckHelo checks the HELO identity (RFC 7208 section 2.3) as
// postmaster@helo; an address literal or a name that is not a domain
// gives none.
func (c *Checker) CheckHelo(ctx context.Context, ip netip.Addr, helo string) Outcome {
	return c.check(ctx, ip, helo, "postmaster@"+helo, "helo")
}

func (c *Checker) check(ctx context.Context, ip netip.Addr, helo, sender, identity string) Outcome {
	local, domain := splitSender(sender)
	out := Outcome{Identity: identity, ClientIP: ip, Helo: helo, Sender: local + "@" + domain, Domain: domain}
	if !ip.IsValid() {
		out.Result, out.Problem = PermError, "no client address"
		return out
	}
	if !validDomain(domain) {
		out.Result, out.Problem = None, "not a domain name: "+domain
		return out
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	e := &eval{c: c, ctx: ctx, ip: ip.Unmap(), sender: out.Sender, local: local,
		senderDomain: domain, helo: helo}
	r := e.checkHost(domain, true)
	out.Result, out.Mechanism, out.Explanation, out.Problem = r.result, r.mech, r.exp, r.problem
	out.Lookups = e.lookups
	return out
}

// splitSender splits local@domain at the last @; no local part is
// "postmaster" (RFC 7208 section 4.3).
func splitSender(s string) (local, domain string) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return "postmaster", s
	}
	local, domain = s[:i], s[i+1:]
	if local == "" {
		local = "postmaster"
	}
	return local, domain
}

// validDomain is RFC 7208 section 4.3's test: a multi-label name, no
// empty label, labels of at most 63 octets, 253 in all, a top label that
// is not all digits.
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	labels := strings.Split(d, ".")
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return false // an address, not a name
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			if b := l[i]; b <= ' ' || b >= 0x7f || b == '[' || b == ']' || b == '@' {
				return false
			}
		}
	}
	return true
}
