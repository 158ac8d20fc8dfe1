// Package mailauth checks received mail and says what it found in one
// Authentication-Results header (RFC 8601): SPF (RFC 7208, through
// internal/spf) for the MAIL FROM and HELO identities, DKIM verification
// (RFC 6376, RFC 8463) of every signature, and DMARC (RFC 7489) for the
// RFC5322.From domain, with the organizational domain from the public
// suffix list. It is a cleanup.Stage that smtpd runs at end of data.
//
// Only mail from untrusted origins is checked: mail from $mynetworks,
// from authenticated clients and local submissions is ours, and never
// checked against itself. Any incoming Authentication-Results field
// whose authserv-id is ours ($myhostname, case-insensitive) is forged
// (we add ours only after removing them) and is removed from all mail
// that passes the stage; ForgeryFilter does the same for local
// submissions, which do not pass it.
//
// Policy: by default the header is all. With Enforce, a DMARC fail whose
// disposition is reject is refused (550 5.7.1), and so is a message
// whose From field DMARC cannot evaluate; quarantine is held or
// tagged (QuarantineAction); a DMARC temperror (the DNS failed) with a
// policy that could refuse is deferred (451 4.7.1), never refused.
//
// DNS answers come from the Resolver given, normally an internal/dnscache
// in front of internal/resolver, shared with the SPF restriction of
// internal/policy so that the RCPT-time SPF check and the header's cost
// one set of queries.
package mailauth

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/mail"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/spf"
)

// HeaderName is the field the checks write.
const HeaderName = "Authentication-Results"

// Quarantine actions (smtpd_dmarc_quarantine_action).
const (
	QuarantineHold = "hold" // the hold queue, as a milter's quarantine
	QuarantineTag  = "tag"  // delivered with TagField prepended
)

// TagField is what the tag quarantine action prepends: the field that
// spam filters set and MUAs and Sieve scripts file as junk.
const TagField = "X-Spam-Flag"

// FromRefused is the reply, when enforcing, to a message whose From
// field DMARC cannot evaluate (none, unreadable, too many domains, only
// address literals), as OpenDMARC's RequiredHeaders refuses it.
const FromRefused = "550 5.7.1 RFC5322 requirement error: no usable From header field for DMARC"

// Config is what a Checker does.
type Config struct {
	// AuthservID names us in Authentication-Results ($myhostname).
	AuthservID string
	// Resolver answers the DNS queries (internal/dnscache).
	Resolver spf.Resolver
	// SPF, DKIM, DMARC: the checks to run (DMARC needs the two others).
	SPF, DKIM, DMARC bool
	// Enforce applies DMARC policies; QuarantineAction is QuarantineHold
	// or QuarantineTag.
	Enforce          bool
	QuarantineAction string
	// Rand returns a number in [0, n) for DMARC's pct= sampling; nil is
	// math/rand/v2.IntN.
	Rand func(n int) int
	// Timeout bounds all the checks of one message; LookupTimeout each
	// DNS lookup. Zero: spf.DefaultTimeout, spf.DefaultLookupTimeout.
	Timeout, LookupTimeout time.Duration
}

// Checker runs the checks; safe for concurrent use.
type Checker struct {
	cfg Config
	spf *spf.Checker
}

// New returns a Checker; the configuration must name an authserv-id and
// a resolver, and DMARC needs SPF and DKIM.
func New(cfg Config) (*Checker, error) {
	if cfg.AuthservID == "" {
		return nil, fmt.Errorf("mailauth: no authserv-id")
	}
	if cfg.Resolver == nil {
		return nil, fmt.Errorf("mailauth: no resolver")
	}
	if cfg.DMARC && (!cfg.SPF || !cfg.DKIM) {
		return nil, fmt.Errorf("mailauth: dmarc needs the spf and dkim checks")
	}
	switch cfg.QuarantineAction {
	case "":
		cfg.QuarantineAction = QuarantineHold
	case QuarantineHold, QuarantineTag:
	default:
		return nil, fmt.Errorf("mailauth: unknown quarantine action %q", cfg.QuarantineAction)
	}
	return &Checker{cfg: cfg, spf: &spf.Checker{Resolver: cfg.Resolver, Receiver: cfg.AuthservID,
		LookupTimeout: cfg.LookupTimeout}}, nil
}

func (c *Checker) lookupTimeout() time.Duration {
	if c.cfg.LookupTimeout > 0 {
		return c.cfg.LookupTimeout
	}
	return spf.DefaultLookupTimeout
}

func (c *Checker) rand(n int) int {
	if c.cfg.Rand != nil {
		return c.cfg.Rand(n)
	}
	return rand.IntN(n)
}

// Input is a received message as the checks see it.
type Input struct {
	ClientAddr netip.Addr
	Helo       string
	MailFrom   string // "" for the null sender
	Header     *cleanup.Header
	// Content reads the whole message (header and body) as received.
	Content io.Reader
}

// Results are what the checks found.
type Results struct {
	SPF     *spf.Outcome // MAIL FROM (the HELO identity for <>)
	SPFHelo *spf.Outcome // HELO, when MAIL FROM was not null
	DKIM    []DKIMResult // one per signature verified; none: unsigned
	DMARC   []DMARCResult

	nullSender bool
}

// Check runs the configured checks.
func (c *Checker) Check(ctx context.Context, in Input) (Results, error) {
	timeout := c.cfg.Timeout
	if timeout <= 0 {
		timeout = spf.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := Results{nullSender: in.MailFrom == ""}
	if c.cfg.SPF {
		o := c.spf.CheckMailFrom(ctx, in.ClientAddr, in.Helo, in.MailFrom)
		res.SPF = &o
		if in.MailFrom != "" && in.Helo != "" {
			h := c.spf.CheckHelo(ctx, in.ClientAddr, in.Helo)
			res.SPFHelo = &h
		}
	}
	var passes []dkimPass
	if c.cfg.DKIM {
		var sigs []string
		for _, f := range in.Header.Fields {
			if strings.EqualFold(f.Name(), "DKIM-Signature") {
				sigs = append(sigs, f.Value())
			}
		}
		d, err := c.verifyDKIM(ctx, in.Content, sigs)
		if err != nil {
			return res, fmt.Errorf("DKIM verification: %w", err)
		}
		res.DKIM = d
		for _, r := range d {
			passes = append(passes, dkimPass{domain: r.Domain, result: r.Result})
		}
	}
	if c.cfg.DMARC {
		domains, problem := fromDomains(in.Header)
		if problem != "" {
			res.DMARC = []DMARCResult{{Result: "permerror", Problem: problem, Disposition: PolicyNone}}
		}
		for _, d := range domains {
			res.DMARC = append(res.DMARC, c.evalDMARC(ctx, d, *res.SPF, passes))
		}
	}
	return res, nil
}

// maxFromDomains bounds the DMARC evaluations (two DNS lookups each)
// of one message.
const maxFromDomains = 5

var atDomain = regexp.MustCompile(`@([A-Za-z0-9\x{80}-\x{10FFFF}][A-Za-z0-9.\x{80}-\x{10FFFF}-]*)`)

// fromDomains are the distinct RFC5322.From domains, as A-labels. A
// message whose From cannot be evaluated has a problem instead (RFC
// 7489 section 6.6.1): no From field, no address in it, more than
// maxFromDomains domains, only address literals, or a domain that is no
// domain name. Several fields or addresses give several domains, each
// evaluated, the strictest policy applied; an address literal
// ("a@[192.0.2.1]") has no policy and is skipped when other domains are
// there.
func fromDomains(h *cleanup.Header) ([]string, string) {
	var domains []string
	seen := map[string]bool{}
	fields, literals := 0, 0
	for _, f := range h.Fields {
		if !strings.EqualFold(f.Name(), "From") {
			continue
		}
		fields++
		v := strings.NewReplacer("\r\n", "", "\n", "").Replace(f.Value())
		var found []string
		if addrs, err := mail.ParseAddressList(v); err == nil {
			for _, a := range addrs {
				i := strings.LastIndexByte(a.Address, '@')
				if i < 0 {
					return nil, "no domain in From address " + a.Address
				}
				found = append(found, a.Address[i+1:])
			}
		} else {
			// A From field that does not parse is still shown by mail
			// readers, domain and all: evaluate every domain-like
			// "@name" in it, so that a malformed field cannot slip past
			// its domain's policy.
			for _, m := range atDomain.FindAllStringSubmatch(v, -1) {
				if d := strings.Trim(m[1], ".-"); strings.Contains(d, ".") {
					found = append(found, d)
				}
			}
			if len(found) == 0 {
				return nil, "From field not readable: " + err.Error()
			}
		}
		for _, d := range found {
			if strings.HasPrefix(d, "[") {
				literals++
				continue
			}
			a, err := aLabels(d)
			if err != nil {
				return nil, fmt.Sprintf("From domain %q: %v", d, err)
			}
			if !seen[a] {
				seen[a] = true
				domains = append(domains, a)
			}
		}
	}
	switch {
	case len(domains) > maxFromDomains:
		return nil, fmt.Sprintf("more than %d From domains", maxFromDomains)
	case fields == 0:
		return nil, "no From field"
	case len(domains) == 0 && literals > 0:
		return nil, "only address literals in From field"
	case len(domains) == 0:
		return nil, "no address in From field"
	}
	return domains, ""
}

// aLabels is domain in lower case with its U-labels as A-labels (IDNA
// lookup rules: UTS 46 mapping, as mail readers show the name), no
// trailing dot; a name that cannot be a host name in the DNS is an
// error.
func aLabels(domain string) (string, error) {
	d := strings.TrimSuffix(domain, ".")
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(d)
			if err != nil {
				return "", err
			}
			d = a
			break
		}
	}
	d = strings.ToLower(d)
	if d == "" || len(d) > 253 {
		return "", fmt.Errorf("not a domain name")
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return "", fmt.Errorf("not a domain name")
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("not a domain name")
			}
		}
	}
	return d, nil
}

// Field is the Authentication-Results value for res.
func (c *Checker) Field(res Results) string {
	var rs []result
	if o := res.SPF; o != nil {
		r := result{method: "spf", value: string(o.Result), reason: problem(o.Result, o.Problem)}
		// For the null sender the identity checked is the HELO name's
		// (RFC 7208 section 2.4): reported as smtp.helo.
		r.props = [][2]string{{"smtp.mailfrom", o.Sender}}
		if res.nullSender {
			r.props = [][2]string{{"smtp.helo", o.Helo}}
		}
		rs = append(rs, r)
	}
	if o := res.SPFHelo; o != nil {
		rs = append(rs, result{method: "spf", value: string(o.Result), reason: problem(o.Result, o.Problem),
			props: [][2]string{{"smtp.helo", o.Helo}}})
	}
	if c.cfg.DKIM && len(res.DKIM) == 0 {
		rs = append(rs, result{method: "dkim", value: "none"})
	}
	for _, d := range res.DKIM {
		r := result{method: "dkim", value: d.Result,
			props: [][2]string{{"header.d", d.Domain}, {"header.i", d.Identity}, {"header.s", d.Selector},
				{"header.a", d.Algorithm}, {"header.b", d.B}}}
		if d.Result != "pass" {
			r.reason = dnsServer.ReplaceAllString(d.Problem, "$1")
		}
		rs = append(rs, r)
	}
	for _, d := range res.DMARC {
		r := result{method: "dmarc", value: d.Result, reason: problem(spf.Result(d.Result), d.Problem),
			props: [][2]string{{"header.from", d.Domain}}}
		if d.Requested != "" {
			// dis: what is done with the message (OpenDMARC's comment);
			// none unless enforcing.
			dis := d.Disposition
			if !c.cfg.Enforce {
				dis = PolicyNone
			}
			r.comment = fmt.Sprintf("p=%s dis=%s", d.Requested, strings.ToUpper(string(dis)))
		}
		rs = append(rs, r)
	}
	return format(c.cfg.AuthservID, rs)
}

// problem is the reason= of an error result, without the address of
// our DNS server that Go's resolver errors name ("lookup x on
// 10.0.0.1:53: ...").
func problem(r spf.Result, p string) string {
	if r == spf.TempError || r == spf.PermError {
		return dnsServer.ReplaceAllString(p, "$1")
	}
	return ""
}

var dnsServer = regexp.MustCompile(`(lookup \S+) on \S+:\d+`)

// Apply is the stage: it removes forged Authentication-Results fields,
// checks mail from untrusted origins, prepends the header, and applies
// the DMARC policy when enforcing.
func (c *Checker) Apply(ctx context.Context, m *cleanup.Message) cleanup.Verdict {
	if m.Origin.Trusted() {
		c.removeForged(&m.Header)
		return cleanup.Verdict{}
	}
	res, err := c.Check(ctx, Input{ClientAddr: m.Origin.ClientAddr, Helo: m.Origin.Helo, MailFrom: m.Env.Sender,
		Header: &m.Header, Content: m.Content()})
	if err != nil {
		return cleanup.Verdict{Action: cleanup.Reject, Reply: "451 4.3.0 Error: temporary failure in the mail authentication checks",
			Reason: "mail authentication checks: " + err.Error(), Source: "mailauth"}
	}
	c.removeForged(&m.Header)
	m.Header.Prepend(HeaderName, c.Field(res))
	if !c.cfg.Enforce {
		return cleanup.Verdict{}
	}
	return c.verdict(res, &m.Header)
}

// ForgeryFilter is the stage of mail that is never checked (local
// submissions): it removes the Authentication-Results fields that claim
// authserv-id, as Apply does for all mail, so that a local user cannot
// forge our results (dkim=pass) to another.
func ForgeryFilter(authservID string) cleanup.Stage {
	c := &Checker{cfg: Config{AuthservID: authservID}}
	return cleanup.StageFunc(func(_ context.Context, m *cleanup.Message) cleanup.Verdict {
		c.removeForged(&m.Header)
		return cleanup.Verdict{}
	})
}

// removeForged drops Authentication-Results fields with our authserv-id.
func (c *Checker) removeForged(h *cleanup.Header) {
	h.DeleteFunc(func(f cleanup.Field) bool {
		return strings.EqualFold(f.Name(), HeaderName) && ours(f.Value(), c.cfg.AuthservID)
	})
}

// verdict applies the DMARC results: the strictest disposition of the
// From domains wins; a temperror defers when the policy could refuse
// or is unknown.
func (c *Checker) verdict(res Results, h *cleanup.Header) cleanup.Verdict {
	var quarantine, temp *DMARCResult
	for i := range res.DMARC {
		d := &res.DMARC[i]
		switch {
		case d.Result == "permerror":
			// The From field cannot be evaluated: refused, as
			// OpenDMARC's RequiredHeaders, so that no From the policy
			// cannot see gets past it.
			return cleanup.Verdict{Action: cleanup.Reject, Reply: FromRefused,
				Reason: "DMARC cannot evaluate the From field: " + d.Problem, Source: "dmarc"}
		case d.Result == "fail" && d.Disposition == PolicyReject:
			return cleanup.Verdict{Action: cleanup.Reject, Reply: "550 5.7.1 rejected by DMARC policy for " + d.Domain,
				Reason: "DMARC policy reject for " + d.Domain, Source: "dmarc"}
		case d.Result == "fail" && d.Disposition == PolicyQuarantine && quarantine == nil:
			quarantine = d
		case d.Result == "temperror" && d.Requested != PolicyNone && temp == nil:
			temp = d
		}
	}
	if temp != nil {
		return cleanup.Verdict{Action: cleanup.Reject,
			Reply:  "451 4.7.1 DMARC check for " + temp.Domain + " failed temporarily, try again later",
			Reason: "DMARC temperror for " + temp.Domain + ": " + temp.Problem, Source: "dmarc"}
	}
	if quarantine != nil {
		if c.cfg.QuarantineAction == QuarantineTag {
			h.Prepend(TagField, "YES")
			return cleanup.Verdict{}
		}
		return cleanup.Verdict{Action: cleanup.Hold, Reason: "DMARC policy quarantine for " + quarantine.Domain, Source: "dmarc"}
	}
	return cleanup.Verdict{}
}
