package mailauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/postern-mta/postern/internal/spf"
)

// DMARCResult is the DMARC evaluation of one RFC5322.From domain
// (RFC 7489 section 6.6).
type DMARCResult struct {
	// Result: "pass", "fail", "none" (no usable record), "temperror"
	// (DNS failed, for the record or for an aligned identifier that
	// might have passed), "permerror" (no usable From domain).
	Result string
	Domain string // the RFC5322.From domain (header.from)
	// Requested: the policy that applies to Domain (p=, or sp= for a
	// subdomain of the organizational domain's record); "" without
	// record.
	Requested Policy
	// Disposition: the policy for this message: Requested for a fail
	// sampled by pct=, one step milder for one that is not (RFC 7489
	// section 6.6.4), none for anything but fail.
	Disposition Policy
	// Problem says why the result is temperror or permerror.
	Problem string
}

// dkimPass is what DMARC needs of a DKIM result: its d= and value.
type dkimPass struct {
	domain, result string
}

// evalDMARC evaluates DMARC for the From domain.
func (c *Checker) evalDMARC(ctx context.Context, from string, sp spf.Outcome, dkims []dkimPass) DMARCResult {
	from = alignName(from)
	res := DMARCResult{Domain: from, Disposition: PolicyNone}
	rec, sub, err := c.discover(ctx, from)
	if err != nil {
		res.Result, res.Problem = "temperror", err.Error()
		return res
	}
	if rec == nil {
		res.Result = "none"
		return res
	}
	res.Requested = rec.p
	if sub && rec.sp != "" {
		res.Requested = rec.sp
	}
	spfAligned := sp.Result == spf.Pass && aligned(sp.Domain, from, rec.strictSPF)
	temp := sp.Result == spf.TempError && aligned(sp.Domain, from, rec.strictSPF)
	dkimAligned := false
	for _, d := range dkims {
		if !aligned(d.domain, from, rec.strictDKIM) {
			continue
		}
		switch d.result {
		case "pass":
			dkimAligned = true
		case "temperror":
			temp = true
		}
	}
	switch {
	case spfAligned || dkimAligned:
		res.Result = "pass"
	case temp:
		// An aligned identifier could not be checked: it might have
		// passed, so no policy is applied (never a reject on a DNS
		// failure).
		res.Result, res.Problem = "temperror", "an aligned SPF or DKIM check failed temporarily"
	default:
		res.Result = "fail"
		res.Disposition = res.Requested
		if rec.pct < 100 && c.rand(100) >= rec.pct {
			switch res.Disposition {
			case PolicyReject:
				res.Disposition = PolicyQuarantine
			case PolicyQuarantine:
				res.Disposition = PolicyNone
			}
		}
	}
	return res
}

// discover finds the DMARC record for domain (RFC 7489 section 6.6.3):
// at _dmarc.domain, else at _dmarc.<organizational domain>; sub reports
// that it came from the organizational domain for a subdomain (sp=
// applies). No usable record is a nil record.
func (c *Checker) discover(ctx context.Context, domain string) (rec *record, sub bool, err error) {
	recs, err := c.fetchDMARC(ctx, domain)
	if err != nil {
		return nil, false, err
	}
	if len(recs) == 0 {
		if org := orgDomain(domain); org != domain {
			if recs, err = c.fetchDMARC(ctx, org); err != nil {
				return nil, false, err
			}
			sub = true
		}
	}
	if len(recs) != 1 {
		return nil, false, nil // none, or several: no DMARC (step 5)
	}
	r := parseRecord(recs[0])
	if r.invalidP || r.invalidSP {
		if !r.hasRUA {
			return nil, false, nil // step 6: no DMARC processing
		}
		r.p, r.sp = PolicyNone, "" // as if p=none
	}
	return &r, sub, nil
}

// fetchDMARC returns the DMARC records at _dmarc.domain; a name without
// them is no record, a DNS failure an error.
func (c *Checker) fetchDMARC(ctx context.Context, domain string) ([]string, error) {
	lctx, cancel := context.WithTimeout(ctx, c.lookupTimeout())
	defer cancel()
	txts, err := c.cfg.Resolver.LookupTXT(lctx, "_dmarc."+domain+".")
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("DMARC record of %s: %v", domain, err)
	}
	var recs []string
	for _, t := range txts {
		if isDMARC(t) {
			recs = append(recs, t)
		}
	}
	return recs, nil
}

// aligned is identifier alignment (RFC 7489 section 3.1): strict is
// the same name, relaxed the same organizational domain.
func aligned(a, b string, strict bool) bool {
	a, b = alignName(a), alignName(b)
	if a == "" || b == "" {
		return false
	}
	if strict {
		return a == b
	}
	return orgDomain(a) == orgDomain(b)
}

// alignName is a name as alignment compares it: A-labels, lower case.
func alignName(d string) string {
	if a, err := aLabels(d); err == nil {
		return a
	}
	return strings.ToLower(strings.TrimSuffix(d, "."))
}

// orgDomain is the organizational domain (RFC 7489 section 3.2): the
// public suffix plus one label; a public suffix itself is its own.
func orgDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	org, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return org
}
