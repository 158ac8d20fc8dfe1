package policy

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/dnstest"
)

// dnsPolicy is a policy whose DNS is a test server with zone.
func dnsPolicy(t *testing.T, mainCf string, zone dnstest.Zone) (*Policy, *[]string) {
	t.Helper()
	dns := dnstest.Start(t, zone)
	dns.QueryTimeout = 100 * time.Millisecond
	p := newPolicy(t, mainCf, nil)
	p.Resolver = dns.Resolver()
	var warnings []string
	p.Warn = func(m string) { warnings = append(warnings, m) }
	return p, &warnings
}

func check(p *Policy, list string, st Stage, req *Request) string {
	p.lists["test"] = config.Fields(list)
	v := p.Check(context.Background(), "test", st, req)
	if v.Kind != Reject {
		return ""
	}
	return v.Reply
}

var domainZone = dnstest.Zone{
	"mx.example.org":     {dnstest.MX(10, "mail.example.org")},
	"null.example":       {dnstest.NullMX()},
	"nullplus.example":   {dnstest.NullMX(), dnstest.MX(10, "mail.example.org")},
	"nulla.example":      {dnstest.NullMX(), dnstest.A("192.0.2.2")},
	"down.example":       {dnstest.ServFail()},
	"mxdown.example":     {dnstest.ServFail(dnstest.TypeMX)},
	"mxdown-a.example":   {dnstest.ServFail(dnstest.TypeMX), dnstest.A("192.0.2.1")},
	"slow.example":       {dnstest.Timeout()},
	"mail.example.org":   {dnstest.A("192.0.2.25")},
	"helo-null.example":  {dnstest.NullMX()},
	"7.2.0.192.bl.test":  {dnstest.A("127.0.0.4"), dnstest.TXT("see $url")},
	"7.2.0.192.big.test": {dnstest.A("127.0.0.2"), dnstest.TXT(strings.Repeat("a", 300)), dnstest.TXT(strings.Repeat("b", 300))},
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test": {dnstest.A("127.0.0.2")},
}

func TestUnknownDomainReplies(t *testing.T) {
	p, _ := dnsPolicy(t, "", domainZone)
	tests := []struct{ list, sender, want string }{
		{"reject_unknown_sender_domain", "a@mx.example.org", ""},
		{"reject_unknown_sender_domain", "a@MX.Example.ORG.", ""},
		{"reject_unknown_sender_domain", "a@nowhere.example", "450 4.1.8 <a@nowhere.example>: Sender address rejected: Domain not found"},
		{"reject_unknown_sender_domain", "a@null.example", "550 5.7.27 <a@null.example>: Sender address rejected: Domain null.example does not accept mail (nullMX)"},
		// The null MX ends the lookup: an A record does not help.
		{"reject_unknown_sender_domain", "a@nulla.example", "550 5.7.27 <a@nulla.example>: Sender address rejected: Domain nulla.example does not accept mail (nullMX)"},
		// A null MX among other MX records is not RFC 7505's null MX.
		{"reject_unknown_sender_domain", "a@nullplus.example", ""},
		// SERVFAIL for MX, nothing for A/AAAA: the temporary failure ranks higher.
		{"reject_unknown_sender_domain", "a@mxdown.example", "450 4.1.8 <a@mxdown.example>: Sender address rejected: Domain not found"},
		{"reject_unknown_sender_domain", "a@mxdown-a.example", ""},
		{"reject_unknown_sender_domain", "a@slow.example", "450 4.1.8 <a@slow.example>: Sender address rejected: Domain not found"},
		// defer_if_permit: a later reject wins, a later permit is deferred.
		{"reject_unknown_sender_domain, reject", "a@down.example", "554 5.7.1 <a@down.example>: Sender address rejected: Access denied"},
		{"reject_unknown_sender_domain, permit", "a@down.example", "450 4.1.8 <a@down.example>: Sender address rejected: Domain not found"},
		// The first deferral reason is kept.
		{"reject_unknown_sender_domain, defer_if_permit", "a@down.example", "450 4.1.8 <a@down.example>: Sender address rejected: Domain not found"},
		{"warn_if_reject, reject_unknown_sender_domain", "a@down.example", ""},
		{"reject_unknown_sender_domain", "postmaster", ""}, // resolves to a local domain
		{"reject_unknown_sender_domain", "a@[192.0.2.1]", ""},
		{"reject_unknown_sender_domain", "", ""},
	}
	for _, tt := range tests {
		req := &Request{ClientAddr: netip.MustParseAddr("192.0.2.7"), Sender: tt.sender}
		if got := check(p, tt.list, Sender, req); got != tt.want {
			t.Errorf("%s / <%s>: got %q, want %q", tt.list, tt.sender, got, tt.want)
		}
	}
	req := &Request{Recipient: "u@null.example"}
	if got := check(p, "reject_unknown_recipient_domain", Recipient, req); got != "556 5.1.10 <u@null.example>: Recipient address rejected: Domain null.example does not accept mail (nullMX)" {
		t.Errorf("null MX recipient: %q", got)
	}
	// The sender check is skipped for lists evaluated before MAIL.
	if got := check(p, "reject_unknown_sender_domain", Client, &Request{Sender: "a@nowhere.example"}); got != "" {
		t.Errorf("client stage: %q", got)
	}
}

func TestTempfailActionDefer(t *testing.T) {
	p, _ := dnsPolicy(t, "unknown_address_tempfail_action = defer\nunknown_address_reject_code = 554\n", domainZone)
	req := &Request{Sender: "a@down.example"}
	if got := check(p, "reject_unknown_sender_domain, reject", Sender, req); got != "450 4.1.8 <a@down.example>: Sender address rejected: Domain not found" {
		t.Errorf("defer: %q", got)
	}
	req.Sender = "a@nowhere.example"
	if got := check(p, "reject_unknown_sender_domain", Sender, req); got != "554 5.1.8 <a@nowhere.example>: Sender address rejected: Domain not found" {
		t.Errorf("unknown_address_reject_code 554: %q", got)
	}
	p, _ = dnsPolicy(t, "reject_tempfail_action = defer\n", domainZone)
	if got := check(p, "reject_unknown_helo_hostname, reject", Helo, &Request{Helo: "down.example"}); got != "450 4.7.1 <down.example>: Helo command rejected: Host not found" {
		t.Errorf("reject_tempfail_action = defer: %q", got)
	}
}

func TestUnknownHelo(t *testing.T) {
	p, _ := dnsPolicy(t, "unknown_hostname_reject_code = 550\n", domainZone)
	for helo, want := range map[string]string{
		"mail.example.org":  "",
		"helo-null.example": "",
		"[192.0.2.1]":       "",
		"[192.0.2.300]":     "501 5.5.2 <[192.0.2.300]>: Helo command rejected: invalid ip address",
		"nowhere.example":   "550 5.7.1 <nowhere.example>: Helo command rejected: Host not found",
		"down.example":      "450 4.7.1 <down.example>: Helo command rejected: Host not found",
	} {
		if got := check(p, "reject_unknown_helo_hostname", Helo, &Request{Helo: helo}); got != want {
			t.Errorf("HELO %s: got %q, want %q", helo, got, want)
		}
	}
}

func TestUnknownClientReplies(t *testing.T) {
	p, _ := dnsPolicy(t, "unknown_client_reject_code = 550\n", nil)
	addr := netip.MustParseAddr("::ffff:192.0.2.7")
	tests := []struct {
		list string
		req  Request
		want string
	}{
		{"reject_unknown_client_hostname", Request{ClientName: "mail.example.org"}, ""},
		{"reject_unknown_client_hostname", Request{ClientName: "unknown"}, "550 5.7.25 Client host rejected: cannot find your hostname, [192.0.2.7]"},
		{"reject_unknown_client_hostname", Request{ClientName: "unknown", ClientNameTemp: true}, "450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.7]"},
		{"reject_unknown_reverse_client_hostname", Request{ReverseName: "forged.example"}, ""},
		{"reject_unknown_reverse_client_hostname", Request{}, "550 5.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.7]"},
		{"reject_unknown_reverse_client_hostname", Request{ReverseNameTemp: true}, "450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.7]"},
	}
	for _, tt := range tests {
		tt.req.ClientAddr = addr
		if got := check(p, tt.list, Client, &tt.req); got != tt.want {
			t.Errorf("%s %+v: got %q, want %q", tt.list, tt.req, got, tt.want)
		}
	}
}

func TestRBLReplies(t *testing.T) {
	p, warnings := dnsPolicy(t, "", domainZone)
	v4 := netip.MustParseAddr("192.0.2.7")
	v6 := netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		list   string
		client netip.Addr
		want   string
	}{
		// "$url" in the TXT record stays as it is: values are not expanded again.
		{"reject_rbl_client bl.test", v4, "554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using bl.test; see $url"},
		{"reject_rbl_client bl.test=127.0.0.4", v4, "554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using bl.test; see $url"},
		{"reject_rbl_client bl.test=127.0.0.[2;4]", v4, "554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using bl.test; see $url"},
		{"reject_rbl_client bl.test=127.0.0.[1..3]", v4, ""},
		{"reject_rbl_client bl.test=127.0.0.[1..3], reject_rbl_client bl.test=127.0.[0..1].[4;9]", v4, "554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using bl.test; see $url"},
		{"reject_rbl_client bl.test=127.0.0.x", v4, "451 4.3.5 Server configuration error"},
		{"reject_rbl_client other.test", v4, ""},
		{"reject_rbl_client bl.test", v6, "554 5.7.1 Service unavailable; Client host [2001:db8::1] blocked using bl.test"},
	}
	for _, tt := range tests {
		if got := check(p, tt.list, Client, &Request{ClientAddr: tt.client}); got != tt.want {
			t.Errorf("%s [%s]: got %q, want %q", tt.list, tt.client, got, tt.want)
		}
	}
	got := check(p, "reject_rbl_client big.test", Client, &Request{ClientAddr: v4})
	reason := got[strings.Index(got, "big.test; ")+len("big.test; "):]
	if len(reason) != rblTextLimit || !strings.HasPrefix(reason, strings.Repeat("a", 300)+" / bbb") {
		t.Errorf("TXT records: %d bytes %q", len(reason), reason)
	}
	if len(*warnings) == 0 || !strings.Contains((*warnings)[0], "RBL reply error") {
		t.Errorf("warnings %q", *warnings)
	}
}

func TestRBLReplyTemplate(t *testing.T) {
	p, _ := dnsPolicy(t, "maps_rbl_reject_code = 450\ndefault_rbl_reply = $rbl_code 4.7.9 $rbl_what ($client_name) listed by $rbl_domain${rbl_reason?: $rbl_reason}\n", domainZone)
	req := &Request{ClientAddr: netip.MustParseAddr("192.0.2.7"), ClientName: "unknown"}
	if got := check(p, "reject_rbl_client bl.test", Client, req); got != "450 4.7.9 192.0.2.7 (unknown) listed by bl.test: see $url" {
		t.Errorf("custom template: %q", got)
	}
	p, warnings := dnsPolicy(t, "default_rbl_reply = blocked\n", domainZone)
	if got := check(p, "reject_rbl_client bl.test", Client, req); got != "450 4.7.1 Service unavailable" {
		t.Errorf("template without code: %q", got)
	}
	if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "rbl response code configuration error: blocked") {
		t.Errorf("warnings %q", *warnings)
	}
}

func TestAccessDeferIfPermit(t *testing.T) {
	p := newPolicy(t, "", map[string]mapTable{"hash:/a": {"a@b.test": "DEFER_IF_PERMIT", "c@b.test": "DEFER_IF_PERMIT 4.7.9 not now"}})
	for sender, want := range map[string]string{
		"a@b.test": "450 4.7.1 <a@b.test>: Sender address rejected: Service unavailable",
		"c@b.test": "450 4.7.9 <c@b.test>: Sender address rejected: not now",
	} {
		if got := check(p, "check_sender_access hash:/a, permit", Sender, &Request{Sender: sender}); got != want {
			t.Errorf("%s: got %q, want %q", sender, got, want)
		}
		if got := check(p, "check_sender_access hash:/a, reject", Sender, &Request{Sender: sender}); !strings.HasPrefix(got, "554 5.7.1") {
			t.Errorf("%s then reject: got %q", sender, got)
		}
	}
}

func TestBadReplyCode(t *testing.T) {
	cfg := config.New("/etc/postern", config.ParseMain("main.cf", "myhostname = mx.example.test\nunknown_address_reject_code = 250\n"))
	if _, err := readCodes(cfg); err == nil {
		t.Fatal("reply code 250 accepted")
	}
}
