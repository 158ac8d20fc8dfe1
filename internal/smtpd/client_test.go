package smtpd_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dnstest"
	"github.com/postern-mta/postern/internal/smtpd"
)

// TestClientLookup: the verified and reverse names of smtpd_peer.c,
// with the temporary/permanent distinction and the warnings.
func TestClientLookup(t *testing.T) {
	dns := dnstest.Start(t, dnstest.Zone{
		"192.0.2.1":          {dnstest.PTR("good.example")},
		"good.example":       {dnstest.A("192.0.2.99"), dnstest.A("192.0.2.1")},
		"192.0.2.2":          {dnstest.PTR("forged.example")},
		"forged.example":     {dnstest.A("192.0.2.99")},
		"192.0.2.3":          {dnstest.PTR("gone.example")},
		"192.0.2.4":          {dnstest.PTR("down.example")},
		"down.example":       {dnstest.ServFail()},
		"192.0.2.5":          {dnstest.ServFail()},
		"192.0.2.6":          {dnstest.PTR("192.0.2.6")},
		"192.0.2.7":          {dnstest.PTR("bad_-.example"), dnstest.PTR("x")},
		"192.0.2.8":          {dnstest.Timeout()},
		"192.0.2.9":          {dnstest.PTR("v6only.example")},
		"v6only.example":     {dnstest.AAAA("2001:db8::9")},
		"2001:db8::9":        {dnstest.PTR("v6only.example")},
		"192.0.2.10":         {dnstest.PTR("Mixed.Example.")},
		"mixed.example":      {dnstest.A("192.0.2.10")},
		"2001:db8::a":        {dnstest.PTR("v6.example")},
		"v6.example":         {dnstest.AAAA("2001:db8::b")},
		"unrelated.example.": {},
	})
	dns.QueryTimeout = 100 * time.Millisecond
	lookup := smtpd.ClientLookup{Resolver: dns.Resolver()}.Lookup
	tests := []struct {
		addr string
		want smtpd.ClientNames
	}{
		{"192.0.2.1", smtpd.ClientNames{Verified: "good.example", Reverse: "good.example"}},
		{"::ffff:192.0.2.1", smtpd.ClientNames{Verified: "good.example", Reverse: "good.example"}},
		{"192.0.2.2", smtpd.ClientNames{Verified: "unknown", Reverse: "forged.example",
			Warning: "hostname forged.example does not resolve to address 192.0.2.2"}},
		{"192.0.2.3", smtpd.ClientNames{Verified: "unknown", Reverse: "gone.example",
			Warning: "hostname gone.example does not resolve to address 192.0.2.3: Name or service not known"}},
		{"192.0.2.4", smtpd.ClientNames{Verified: "unknown", Reverse: "down.example", VerifiedTemp: true,
			Warning: "hostname down.example does not resolve to address 192.0.2.4: Temporary failure in name resolution"}},
		{"192.0.2.5", smtpd.ClientNames{Verified: "unknown", VerifiedTemp: true, ReverseTemp: true}},
		{"192.0.2.6", smtpd.ClientNames{Verified: "unknown"}}, // numeric PTR
		{"192.0.2.8", smtpd.ClientNames{Verified: "unknown", VerifiedTemp: true, ReverseTemp: true}},
		// Only the client's own address family counts.
		{"192.0.2.9", smtpd.ClientNames{Verified: "unknown", Reverse: "v6only.example",
			Warning: "hostname v6only.example does not resolve to address 192.0.2.9: Name or service not known"}},
		{"2001:db8::9", smtpd.ClientNames{Verified: "v6only.example", Reverse: "v6only.example"}},
		{"2001:db8::a", smtpd.ClientNames{Verified: "unknown", Reverse: "v6.example",
			Warning: "hostname v6.example does not resolve to address 2001:db8::a"}},
		{"192.0.2.10", smtpd.ClientNames{Verified: "Mixed.Example", Reverse: "Mixed.Example"}},
		{"192.0.2.11", smtpd.ClientNames{Verified: "unknown"}},
	}
	for _, tt := range tests {
		if got := lookup(context.Background(), netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.addr, got, tt.want)
		}
	}
	// A malformed first PTR name: the client has no usable name.
	if got := lookup(context.Background(), netip.MustParseAddr("192.0.2.7")); got.Reverse != "" || got.Verified != "unknown" {
		t.Errorf("malformed PTR: %+v", got)
	}
}
