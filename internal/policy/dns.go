package policy

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/postern-mta/postern/internal/config"
)

// dnsTimeout bounds the lookups of one restriction.
const dnsTimeout = 10 * time.Second

// defaultRBLReply is Postfix's default_rbl_reply.
const defaultRBLReply = "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}"

// dnsSettings are the main.cf parameters of the DNS restrictions.
type dnsSettings struct {
	// deferAddr, deferName: unknown_address_tempfail_action and
	// unknown_helo_hostname_tempfail_action are "defer" (reply 450 at
	// once) rather than "defer_if_permit" (the default).
	deferAddr, deferName bool
	rblReply             string // default_rbl_reply, unexpanded
}

func readDNSSettings(cfg *config.Config) (dnsSettings, error) {
	var s dnsSettings
	fallback, err := cfg.Get("reject_tempfail_action")
	if err != nil {
		return s, err
	}
	for name, dst := range map[string]*bool{"unknown_address_tempfail_action": &s.deferAddr,
		"unknown_helo_hostname_tempfail_action": &s.deferName} {
		v, err := cfg.Get(name)
		if err != nil {
			return s, err
		}
		if v == "" {
			v = fallback
		}
		*dst = strings.EqualFold(strings.TrimSpace(v), "defer")
	}
	s.rblReply = defaultRBLReply
	if v, ok := cfg.Raw("default_rbl_reply"); ok && strings.TrimSpace(v) != "" {
		s.rblReply = v // raw: $rbl_* are expanded per reply
	}
	return s, nil
}

func (p *Policy) resolver() *net.Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

// dnsStatus is a lookup's outcome, ordered as Postfix ranks the results
// of a multi-type lookup (dns.h): any success wins, then a temporary
// failure, then a null MX; "not found" only when every type says so.
type dnsStatus int

const (
	dnsNotFound dnsStatus = iota // NXDOMAIN, no data, or a hard failure
	dnsNullMX                    // the single MX record "0 ." (RFC 7505)
	dnsRetry                     // SERVFAIL, timeout: try again later
	dnsOK
)

func statusOf(err error) dnsStatus {
	if err == nil {
		return dnsOK
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		if de.IsNotFound {
			return dnsNotFound
		}
		if de.IsTemporary || de.IsTimeout {
			return dnsRetry
		}
		return dnsNotFound
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return dnsRetry
	}
	return dnsNotFound
}

// fqdn roots a name so that the resolver's search list never applies:
// Postfix's DNS lookups (res_query) do not search either.
func fqdn(name string) string { return strings.TrimSuffix(name, ".") + "." }

// lookup returns the status of one record type of name: "MX", "A" or
// "AAAA".
func (p *Policy) lookup(ctx context.Context, name, typ string) dnsStatus {
	r := p.resolver()
	switch typ {
	case "MX":
		mx, err := r.LookupMX(ctx, fqdn(name))
		if len(mx) == 1 && (mx[0].Host == "." || mx[0].Host == "") {
			return dnsNullMX
		}
		if len(mx) > 0 {
			return dnsOK
		}
		return statusOf(err)
	case "A", "AAAA":
		network := map[string]string{"A": "ip4", "AAAA": "ip6"}[typ]
		ips, err := r.LookupNetIP(ctx, network, fqdn(name))
		if len(ips) > 0 {
			return dnsOK
		}
		return statusOf(err)
	}
	return dnsNotFound
}

// lookupTypes is dns_lookup_l with DNS_REQ_FLAG_STOP_OK: the types in
// order, stopping at the first that exists (or at a null MX when
// stopNullMX), else the best status of them all.
func (p *Policy) lookupTypes(ctx context.Context, name string, stopNullMX bool, types ...string) dnsStatus {
	ctx, cancel := context.WithTimeout(ctx, dnsTimeout)
	defer cancel()
	best := dnsNotFound
	for _, t := range types {
		st := p.lookup(ctx, name, t)
		if st == dnsOK || st == dnsNullMX && stopNullMX {
			return st
		}
		best = max(best, st)
	}
	return best
}

// tempfail applies a *_tempfail_action to the reply for a temporary DNS
// failure: "defer" replies at once; "defer_if_permit" (the default) only
// turns a later permit into this reply, so that another restriction can
// still reject. Under warn_if_reject Postfix replies at once, so the
// reply is logged as a warning.
func tempfail(e *eval, v Verdict, immediate bool) Verdict {
	if immediate || e.warnNext {
		return v
	}
	e.deferIfPermit(v)
	return Verdict{}
}
