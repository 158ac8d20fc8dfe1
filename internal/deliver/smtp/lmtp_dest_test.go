package smtp

import (
	"strings"
	"testing"
)

// LMTP next hops as Postfix's smtp_connect reads them with smtp_mode off.
func TestLMTPDestinations(t *testing.T) {
	for _, tc := range []struct {
		nexthop string
		sites   []string
		host    string // of the first site
		port    int
		unix    string
		err     string
	}{
		{nexthop: "unix:private/dovecot-lmtp", sites: []string{"unix:private/dovecot-lmtp"}, host: "mx.test", unix: "private/dovecot-lmtp"},
		{nexthop: "unix:/run/dovecot/lmtp", sites: []string{"unix:/run/dovecot/lmtp"}, host: "mx.test", unix: "/run/dovecot/lmtp"},
		{nexthop: "inet:mail.example.test:2424", sites: []string{"mail.example.test:2424"}, host: "mail.example.test", port: 2424},
		{nexthop: "inet:[192.0.2.1]:24", sites: []string{"[192.0.2.1]:24"}, host: "192.0.2.1", port: 24},
		{nexthop: "inet:[2001:db8::1]", sites: []string{"[2001:db8::1]"}, host: "2001:db8::1", port: 24},
		{nexthop: "mail.example.test", sites: []string{"mail.example.test"}, host: "mail.example.test", port: 24},
		{nexthop: "inet:a.test:24, b.test:24", sites: []string{"a.test:24", "b.test:24"}, host: "a.test", port: 24},
		{nexthop: "unix:", sites: []string{"unix:"}, err: "empty pathname"},
		{nexthop: "inet:[192.0.2.1", sites: []string{"[192.0.2.1"}, err: `missing "]"`},
	} {
		sites := lmtpSites(tc.nexthop)
		if strings.Join(sites, "|") != strings.Join(tc.sites, "|") {
			t.Errorf("lmtpSites(%q) = %q, want %q", tc.nexthop, sites, tc.sites)
			continue
		}
		d, err := parseLMTPDestination(sites[0], "mx.test", 24)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.nexthop, err, tc.err)
			}
			continue
		}
		if err != nil || d.host != tc.host || d.port != tc.port || d.unix != tc.unix || d.mx {
			t.Errorf("%q: %+v, %v", tc.nexthop, d, err)
		}
	}
}

func FuzzLMTPDestination(f *testing.F) {
	for _, s := range []string{"unix:private/dovecot-lmtp", "inet:[::1]:24", "inet:host:lmtp", "a, b:1", "[x", "unix:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, nexthop string) {
		for _, site := range lmtpSites(nexthop) {
			d, err := parseLMTPDestination(site, "mx.test", 24)
			if err == nil && (d.mx || d.host == "") {
				t.Errorf("%q: %+v", site, d)
			}
		}
	})
}
