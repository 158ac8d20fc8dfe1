package policy

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/dnstest"
)

var spfZone = dnstest.Zone{
	"pass.test":    {dnstest.TXT("v=spf1 ip4:192.0.2.7 -all")},
	"exp.test":     {dnstest.TXT("v=spf1 -all exp=why.exp.test")},
	"why.exp.test": {dnstest.TXT("%{i} is not one of %{d}'s servers")},
	"soft.test":    {dnstest.TXT("v=spf1 ~all")},
	"broken.test":  {dnstest.TXT("v=spf1 bogus:x -all")},
	"down.test":    {dnstest.ServFail()},
	"helo.test":    {dnstest.TXT("v=spf1 -all")},
}

func TestRejectSPFFail(t *testing.T) {
	dns := dnstest.Start(t, spfZone)
	dns.QueryTimeout = 100 * time.Millisecond
	p := newPolicy(t, "mynetworks = 127.0.0.0/8\n", nil)
	p.SPFResolver = dns.Resolver()
	outside := netip.MustParseAddr("192.0.2.7")
	other := netip.MustParseAddr("198.51.100.9")
	for _, tc := range []struct {
		name string
		st   Stage
		req  Request
		want string
	}{
		{"pass", Recipient, Request{ClientAddr: outside, Sender: "a@pass.test", Recipient: "u@example.test"}, ""},
		{"fail at RCPT", Recipient, Request{ClientAddr: other, Sender: "a@pass.test", Recipient: "u@example.test"},
			"550 5.7.23 <u@example.test>: Recipient address rejected: Message rejected due to: SPF fail - not authorized"},
		{"fail at MAIL FROM", Sender, Request{ClientAddr: other, Sender: "a@pass.test"},
			"550 5.7.23 <a@pass.test>: Sender address rejected: Message rejected due to: SPF fail - not authorized"},
		{"fail with the domain's explanation", Recipient, Request{ClientAddr: other, Sender: "a@exp.test", Recipient: "u@example.test"},
			"550 5.7.23 <u@example.test>: Recipient address rejected: Message rejected due to: 198.51.100.9 is not one of exp.test's servers"},
		{"null sender: HELO identity", Recipient, Request{ClientAddr: other, Helo: "helo.test", Recipient: "u@example.test"},
			"550 5.7.23 <u@example.test>: Recipient address rejected: Message rejected due to: SPF fail - not authorized"},
		{"softfail goes on", Recipient, Request{ClientAddr: other, Sender: "a@soft.test", Recipient: "u@example.test"}, ""},
		{"permerror goes on", Recipient, Request{ClientAddr: other, Sender: "a@broken.test", Recipient: "u@example.test"}, ""},
		{"none goes on", Recipient, Request{ClientAddr: other, Sender: "a@nothing.test", Recipient: "u@example.test"}, ""},
		{"temperror", Recipient, Request{ClientAddr: other, Sender: "a@down.test", Recipient: "u@example.test"},
			"451 4.4.3 <u@example.test>: Recipient address rejected: SPF MAIL FROM check temporary error, try again later"},
		{"authenticated client never checked", Recipient, Request{ClientAddr: other, SASLUser: "bob", Sender: "a@pass.test", Recipient: "u@example.test"}, ""},
		{"mynetworks never checked", Recipient, Request{ClientAddr: netip.MustParseAddr("127.0.0.9"), Sender: "a@pass.test", Recipient: "u@example.test"}, ""},
		{"before MAIL FROM nothing to check", Client, Request{ClientAddr: other}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if got := check(p, "reject_spf_fail", tc.st, &req); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	if got := printable("a\r\nb\x00c\u00e9"+strings.Repeat("x", 300), 20); got != "a  b c xxxxxxxxxxxxx" {
		t.Errorf("printable: %q", got)
	}
	if !Implements("reject_spf_fail") {
		t.Error("reject_spf_fail not implemented")
	}
}
