package mailauth

import (
	"strconv"
	"strings"
)

// Policy is a DMARC requested policy (RFC 7489 section 6.3, p= and sp=).
type Policy string

// The DMARC policies; "" is an absent sp=.
const (
	PolicyNone       Policy = "none"
	PolicyQuarantine Policy = "quarantine"
	PolicyReject     Policy = "reject"
)

// record is what postern uses of a DMARC record (RFC 7489 section 6.3):
// the policies, the alignment modes and the sampling rate. Reporting
// tags (rua, ruf, fo, rf, ri) are not used: postern sends no reports.
type record struct {
	p, sp      Policy
	strictDKIM bool // adkim=s
	strictSPF  bool // aspf=s
	pct        int  // 0..100
	hasRUA     bool // a syntactically plausible rua= URI
	invalidP   bool // p= missing or invalid
	invalidSP  bool // sp= present and invalid
	text       string
}

// isDMARC reports whether a TXT string is a DMARC record at all: it
// starts with the v=DMARC1 tag (RFC 7489 section 6.6.3 step 3 discards
// the others). Whitespace around "=" and ";" is allowed.
func isDMARC(txt string) bool {
	tag, _, _ := strings.Cut(txt, ";")
	k, v, ok := strings.Cut(tag, "=")
	return ok && strings.TrimSpace(k) == "v" && strings.TrimSpace(v) == "DMARC1"
}

// parseRecord reads a DMARC record (isDMARC true) as RFC 7489 section
// 6.3 asks: unknown tags are ignored, a tag with a bad value takes its
// default (section 6.3: "syntax errors in the remainder of the record
// SHOULD be discarded in favor of default values"), policy values are
// case-insensitive. A missing or invalid p= is reported in invalidP for
// the caller (section 6.6.3 step 6).
func parseRecord(txt string) record {
	r := record{pct: 100, text: txt}
	seen := map[string]bool{}
	for _, tag := range strings.Split(txt, ";") {
		k, v, ok := strings.Cut(tag, "=")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if seen[k] {
			continue // the first occurrence counts
		}
		seen[k] = true
		switch k {
		case "p":
			r.p = policyValue(v)
		case "sp":
			r.sp = policyValue(v)
			r.invalidSP = r.sp == ""
		case "adkim":
			r.strictDKIM = strings.EqualFold(v, "s")
		case "aspf":
			r.strictSPF = strings.EqualFold(v, "s")
		case "pct":
			if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 100 {
				r.pct = n
			}
		case "rua":
			for _, u := range strings.Split(v, ",") {
				if scheme, _, ok := strings.Cut(strings.TrimSpace(u), ":"); ok && scheme != "" {
					r.hasRUA = true
				}
			}
		}
	}
	r.invalidP = r.p == ""
	return r
}

func policyValue(v string) Policy {
	switch p := Policy(strings.ToLower(v)); p {
	case PolicyNone, PolicyQuarantine, PolicyReject:
		return p
	}
	return ""
}
