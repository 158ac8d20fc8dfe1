package dkimsign

import (
	"strings"

	"github.com/postern-mta/postern/internal/cleanup"
)

// signedBy returns the d= and s= pairs of the message's DKIM-Signature
// fields ("domain\x00selector", lower case, a final dot removed), so
// that a message that comes back already signed with one of our keys (a
// content filter re-injecting it through a trusted smtpd, a relay
// between two of our servers) is not signed with it twice. A field
// without both tags is ignored.
func signedBy(h *cleanup.Header) map[string]bool {
	var pairs map[string]bool
	for _, f := range h.Fields {
		if !strings.EqualFold(f.Name(), "DKIM-Signature") {
			continue
		}
		d, s := dkimTag(f.Value(), "d"), dkimTag(f.Value(), "s")
		if d == "" || s == "" {
			continue
		}
		if pairs == nil {
			pairs = map[string]bool{}
		}
		pairs[pairKey(d, s)] = true
	}
	return pairs
}

func pairKey(domain, selector string) string {
	return strings.ToLower(strings.TrimSuffix(domain, ".")) + "\x00" + strings.ToLower(selector)
}

// dkimTag returns the value of tag name in a DKIM-Signature tag list
// (RFC 6376 §3.2: "name = value; …", folding white space anywhere
// around and, for these tags, none inside), white space removed; "" when
// absent.
func dkimTag(list, name string) string {
	for _, spec := range strings.Split(list, ";") {
		n, v, ok := strings.Cut(spec, "=")
		if ok && strings.TrimSpace(n) == name {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return ""
}
