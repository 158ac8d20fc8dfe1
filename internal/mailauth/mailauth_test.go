package mailauth

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
	"github.com/postern-mta/postern/internal/dnstest"
)

// interopZone: the fixtures' keys, SPF for interop.test (192.0.2.10)
// and for the HELO name, a DMARC record with p=reject.
func interopZone(t *testing.T) dnstest.Zone {
	z := interopKeys(t)
	z["interop.test"] = []dnstest.Record{dnstest.TXT("v=spf1 ip4:192.0.2.10 -all")}
	z["mail.interop.test"] = []dnstest.Record{dnstest.TXT("v=spf1 ip4:192.0.2.10 -all")}
	z["_dmarc.interop.test"] = []dnstest.Record{dnstest.TXT("v=DMARC1; p=reject")}
	return z
}

var (
	goodIP = netip.MustParseAddr("192.0.2.10")
	badIP  = netip.MustParseAddr("198.51.100.1")
)

func check(t *testing.T, c *Checker, ip netip.Addr, mailFrom string, msg []byte) Results {
	t.Helper()
	res, err := c.Check(context.Background(), Input{ClientAddr: ip, Helo: "mail.interop.test", MailFrom: mailFrom,
		Header: header(msg), Content: bytes.NewReader(msg)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The header's exact form (RFC 8601): the authserv-id, each result on
// its own folded line, properties, DMARC's policy comment.
func TestField(t *testing.T) {
	dns := dnstest.Start(t, interopZone(t))
	c := newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true})
	msg := fixture(t, "dkimpy-rsa.eml")
	b := tagList(header(msg).Fields[0].Value())["b"][:8]

	got := c.Field(check(t, c, goodIP, "alice@interop.test", msg))
	want := "mx.receiver.test;\r\n" +
		"\tspf=pass smtp.mailfrom=alice@interop.test;\r\n" +
		"\tspf=pass smtp.helo=mail.interop.test;\r\n" +
		"\tdkim=pass header.d=interop.test header.i=@interop.test header.s=dkimpy header.a=rsa-sha256 header.b=" + pvalue(b) + ";\r\n" +
		"\tdmarc=pass (p=reject dis=NONE) header.from=interop.test"
	if got != want {
		t.Errorf("pass:\n%s\nwant\n%s", got, want)
	}

	// From elsewhere, changed: everything fails.
	bad := bytes.Replace(msg, []byte("Hello Bob"), []byte("Hello Eve"), 1)
	got = c.Field(check(t, c, badIP, "alice@interop.test", bad))
	want = "mx.receiver.test;\r\n" +
		"\tspf=fail smtp.mailfrom=alice@interop.test;\r\n" +
		"\tspf=fail smtp.helo=mail.interop.test;\r\n" +
		"\tdkim=fail reason=\"body hash did not verify\" header.d=interop.test header.i=@interop.test header.s=dkimpy header.a=rsa-sha256 header.b=" + pvalue(b) + ";\r\n" +
		"\tdmarc=fail (p=reject dis=NONE) header.from=interop.test"
	if got != want {
		t.Errorf("fail:\n%s\nwant\n%s", got, want)
	}

	enforcing := newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true, Enforce: true})
	if got := enforcing.Field(check(t, c, badIP, "alice@interop.test", bad)); !strings.HasSuffix(got, "dmarc=fail (p=reject dis=REJECT) header.from=interop.test") {
		t.Errorf("enforcing: %s", got)
	}

	// Null sender, unsigned, DNS down for DMARC.
	dns.Set("_dmarc.interop.test", dnstest.ServFail())
	got = c.Field(check(t, c, goodIP, "", fixture(t, "message.eml")))
	want = "mx.receiver.test;\r\n" +
		"\tspf=pass smtp.helo=mail.interop.test;\r\n" +
		"\tdkim=none;\r\n" +
		"\tdmarc=temperror reason=\"DMARC record of interop.test: lookup _dmarc.interop.test.: server misbehaving\" header.from=interop.test"
	if got != want {
		t.Errorf("temperror:\n%s\nwant\n%s", got, want)
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		results []result
		want    string
	}{
		{nil, "mx.test; none"},
		{[]result{{method: "spf", value: "fail", comment: "a (nested) \\ comment\r\n",
			reason: `say "no"`, props: [][2]string{{"smtp.mailfrom", "a b@x.test"}, {"smtp.helo", ""}}}},
			"mx.test;\r\n\tspf=fail (a \\(nested\\) \\\\ comment  ) reason=\"say \\\"no\\\"\" smtp.mailfrom=\"a b@x.test\""},
		{[]result{{method: "dkim", value: "pass", props: [][2]string{{"header.b", "ab+/=cd"}, {"header.i", "@x.test"}}}},
			"mx.test;\r\n\tdkim=pass header.b=\"ab+/=cd\" header.i=@x.test"},
	} {
		if got := format("mx.test", tc.results); got != tc.want {
			t.Errorf("format(%+v) =\n%q\nwant\n%q", tc.results, got, tc.want)
		}
		if id, ok := AuthservID(format("mx.test", tc.results)); !ok || id != "mx.test" {
			t.Errorf("AuthservID of our own header: %q %v", id, ok)
		}
	}
}

func TestAuthservID(t *testing.T) {
	for _, tc := range []struct {
		v, want string
		ok      bool
	}{
		{"mx.example.org; spf=pass", "mx.example.org", true},
		{"  MX.Example.ORG 1; none", "MX.Example.ORG", true},
		{"(comment (nested) \\) x) mx.example.org; none", "mx.example.org", true},
		{"\r\n\tmx.example.org;\r\n\tdkim=pass", "mx.example.org", true},
		{`"mx.example.org"; none`, "mx.example.org", true},
		{`"mx.exa\mple.org"; none`, "mx.example.org", true},
		{`"unterminated; none`, "", false},
		{"; none", "", false},
		{"(only a comment)", "", false},
		{"", "", false},
	} {
		got, ok := AuthservID(tc.v)
		if got != tc.want || ok != tc.ok {
			t.Errorf("AuthservID(%q) = %q %v, want %q %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRemoveForged(t *testing.T) {
	c := &Checker{cfg: Config{AuthservID: "mx.receiver.test"}}
	h := header([]byte("Authentication-Results: MX.Receiver.Test; dkim=pass header.d=bank.test\r\n" +
		"Authentication-Results: mx.sender.test; spf=pass\r\n" +
		"authentication-results: (forged)\r\n \"mx.receiver.test\"; dmarc=pass\r\n" +
		"Authentication-Results: mx.receiver.test.evil.test; dkim=pass\r\n" +
		"X-Authentication-Results: mx.receiver.test; none\r\n" +
		"From: a@bank.test\r\n\r\n"))
	c.removeForged(h)
	var names []string
	for _, f := range h.Fields {
		names = append(names, strings.TrimRight(f.Raw, "\r\n"))
	}
	want := []string{"Authentication-Results: mx.sender.test; spf=pass",
		"Authentication-Results: mx.receiver.test.evil.test; dkim=pass",
		"X-Authentication-Results: mx.receiver.test; none", "From: a@bank.test"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("after removal:\n%q\nwant\n%q", names, want)
	}
}

func TestVerdict(t *testing.T) {
	fail := func(d string, req, dis Policy) DMARCResult {
		return DMARCResult{Result: "fail", Domain: d, Requested: req, Disposition: dis}
	}
	for _, tc := range []struct {
		name       string
		quarantine string
		dmarc      []DMARCResult
		action     cleanup.Action
		reply      string
		tag        bool
	}{
		{"reject", "", []DMARCResult{fail("a.test", PolicyReject, PolicyReject)}, cleanup.Reject, "550 5.7.1 rejected by DMARC policy for a.test", false},
		{"reject not sampled", "", []DMARCResult{fail("a.test", PolicyReject, PolicyQuarantine)}, cleanup.Hold, "", false},
		{"quarantine hold", "hold", []DMARCResult{fail("a.test", PolicyQuarantine, PolicyQuarantine)}, cleanup.Hold, "", false},
		{"quarantine tag", "tag", []DMARCResult{fail("a.test", PolicyQuarantine, PolicyQuarantine)}, cleanup.Continue, "", true},
		{"p=none", "", []DMARCResult{fail("a.test", PolicyNone, PolicyNone)}, cleanup.Continue, "", false},
		{"pass", "", []DMARCResult{{Result: "pass", Domain: "a.test", Requested: PolicyReject, Disposition: PolicyNone}}, cleanup.Continue, "", false},
		{"temperror, record unknown", "", []DMARCResult{{Result: "temperror", Domain: "a.test"}}, cleanup.Reject, "451 4.7.1 DMARC check for a.test failed temporarily, try again later", false},
		{"temperror, p=reject", "", []DMARCResult{{Result: "temperror", Domain: "a.test", Requested: PolicyReject}}, cleanup.Reject, "451 4.7.1 DMARC check for a.test failed temporarily, try again later", false},
		{"temperror, p=none", "", []DMARCResult{{Result: "temperror", Domain: "a.test", Requested: PolicyNone}}, cleanup.Continue, "", false},
		{"strictest of two From domains", "", []DMARCResult{fail("a.test", PolicyQuarantine, PolicyQuarantine), fail("b.test", PolicyReject, PolicyReject)}, cleanup.Reject, "550 5.7.1 rejected by DMARC policy for b.test", false},
		{"reject beats temperror", "", []DMARCResult{{Result: "temperror", Domain: "a.test"}, fail("b.test", PolicyReject, PolicyReject)}, cleanup.Reject, "550 5.7.1 rejected by DMARC policy for b.test", false},
		{"no From", "", []DMARCResult{{Result: "permerror", Problem: "no From field", Disposition: PolicyNone}}, cleanup.Reject, FromRefused, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Checker{cfg: Config{AuthservID: "mx.test", Enforce: true, QuarantineAction: tc.quarantine}}
			var h cleanup.Header
			v := c.verdict(Results{DMARC: tc.dmarc}, &h)
			if v.Action != tc.action || v.Reply != tc.reply {
				t.Errorf("verdict %+v, want action %v reply %q", v, tc.action, tc.reply)
			}
			if got, _ := h.Get(TagField); (got == "YES") != tc.tag {
				t.Errorf("%s: %q, want tagged %v", TagField, got, tc.tag)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	dns := dnstest.Start(t, nil)
	for _, cfg := range []Config{
		{Resolver: dns.Resolver(), SPF: true},
		{AuthservID: "mx.test", SPF: true},
		{AuthservID: "mx.test", Resolver: dns.Resolver(), DMARC: true, SPF: true},
		{AuthservID: "mx.test", Resolver: dns.Resolver(), QuarantineAction: "drop"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
