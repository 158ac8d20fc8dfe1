package postscreen

import (
	"net/netip"
	"testing"
)

// FuzzParseSites: any postscreen_dnsbl_sites entry parses or errors,
// never panics, and a parsed filter only matches 127.0.0.0/8-style
// four-octet answers it was given ranges for.
func FuzzParseSites(f *testing.F) {
	for _, s := range []string{"zen.spamhaus.org*3", "b.example=127.0.0.[2..11]", "w.example=127.0.[0..255].[1;3]*-2", "x=[", "a.b=1.2.3.4.5", "a.b*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		sites, err := ParseSites([]string{spec})
		if err != nil {
			return
		}
		s := sites[0]
		s.matches(netip.MustParseAddr("127.0.0.2"))
		s.matches(netip.MustParseAddr("::1"))
		_ = query(netip.MustParseAddr("192.0.2.1"), s.Domain)
	})
}
