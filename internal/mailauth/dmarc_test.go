package mailauth

import (
	"context"
	"testing"

	"github.com/postern-mta/postern/internal/dnstest"
	"github.com/postern-mta/postern/internal/spf"
)

var dmarcZone = dnstest.Zone{
	"_dmarc.example.org":         {dnstest.TXT("v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.org")},
	"_dmarc.own.example.org":     {dnstest.TXT("v=DMARC1; p=none")},
	"_dmarc.strict.test":         {dnstest.TXT("v=DMARC1; p=reject; adkim=s; aspf=s")},
	"_dmarc.half.test":           {dnstest.TXT("v=DMARC1; p=reject; pct=50")},
	"_dmarc.halfq.test":          {dnstest.TXT("v=DMARC1; p=quarantine; pct=0")},
	"_dmarc.upper.test":          {dnstest.TXT("v=DMARC1;P=Reject;ASPF=s")},
	"_dmarc.down.test":           {dnstest.ServFail()},
	"_dmarc.two.test":            {dnstest.TXT("v=DMARC1; p=reject"), dnstest.TXT("v=DMARC1; p=none")},
	"_dmarc.other.test":          {dnstest.TXT("v=spf1 -all"), dnstest.TXT("v=DMARC1; p=quarantine")},
	"_dmarc.badp.test":           {dnstest.TXT("v=DMARC1; p=bogus")},
	"_dmarc.badprua.test":        {dnstest.TXT("v=DMARC1; p=bogus; rua=mailto:r@badprua.test")},
	"_dmarc.badsp.test":          {dnstest.TXT("v=DMARC1; p=reject; sp=maybe")},
	"_dmarc.notfirst.test":       {dnstest.TXT("p=reject; v=DMARC1")},
	"_dmarc.example.co.uk":       {dnstest.TXT("v=DMARC1; p=reject")},
	"_dmarc.sub.down2.test":      {dnstest.A("192.0.2.1")}, // NODATA
	"_dmarc.down2.test":          {dnstest.ServFail()},
	"_dmarc.nosp.example.net":    {dnstest.A("192.0.2.1")},
	"_dmarc.example.net":         {dnstest.TXT("v=DMARC1; p=reject")},
	"_dmarc.garbage-pct.test":    {dnstest.TXT("v=DMARC1; p=reject; pct=abc; fo=zz; ri=-1")},
	"_dmarc.nothing-else.test":   {dnstest.TXT("v=DMARC1; p=quarantine; adkim=x")},
	"_dmarc.mixed-case-dom.test": {dnstest.TXT("v=DMARC1; p=reject")},
}

func TestDMARC(t *testing.T) {
	dns := dnstest.Start(t, dmarcZone)
	spfPass := func(d string) spf.Outcome { return spf.Outcome{Result: spf.Pass, Domain: d} }
	spfFail := func(d string) spf.Outcome { return spf.Outcome{Result: spf.Fail, Domain: d} }
	dkim := func(d, r string) []dkimPass { return []dkimPass{{domain: d, result: r}} }
	for _, tc := range []struct {
		name      string
		from      string
		spf       spf.Outcome
		dkim      []dkimPass
		rand      int
		want      string
		requested Policy
		dis       Policy
	}{
		{"SPF aligned (same domain)", "example.org", spfPass("example.org"), nil, 0, "pass", PolicyReject, PolicyNone},
		{"SPF aligned relaxed (subdomain)", "example.org", spfPass("bounce.example.org"), nil, 0, "pass", PolicyReject, PolicyNone},
		{"DKIM aligned relaxed", "example.org", spfFail("example.org"), dkim("mail.example.org", "pass"), 0, "pass", PolicyReject, PolicyNone},
		{"SPF unaligned", "example.org", spfPass("other.test"), nil, 0, "fail", PolicyReject, PolicyReject},
		{"DKIM unaligned", "example.org", spfFail("example.org"), dkim("other.test", "pass"), 0, "fail", PolicyReject, PolicyReject},
		{"DKIM aligned but failed", "example.org", spfFail("example.org"), dkim("example.org", "fail"), 0, "fail", PolicyReject, PolicyReject},
		{"SPF strict: subdomain unaligned", "strict.test", spfPass("bounce.strict.test"), nil, 0, "fail", PolicyReject, PolicyReject},
		{"SPF strict: same domain", "strict.test", spfPass("strict.test"), nil, 0, "pass", PolicyReject, PolicyNone},
		{"DKIM strict: subdomain unaligned", "strict.test", spf.Outcome{}, dkim("mail.strict.test", "pass"), 0, "fail", PolicyReject, PolicyReject},
		{"DKIM strict: same domain", "strict.test", spf.Outcome{}, dkim("STRICT.test", "pass"), 0, "pass", PolicyReject, PolicyNone},
		{"subdomain: sp of the organizational domain", "sub.example.org", spfFail("sub.example.org"), nil, 0, "fail", PolicyQuarantine, PolicyQuarantine},
		{"subdomain with its own record: its p", "own.example.org", spfFail("own.example.org"), nil, 0, "fail", PolicyNone, PolicyNone},
		{"subdomain without sp: p", "nosp.example.net", spfFail("x.test"), nil, 0, "fail", PolicyReject, PolicyReject},
		{"public suffix list: co.uk", "mail.example.co.uk", spfPass("bounce.example.co.uk"), nil, 0, "pass", PolicyReject, PolicyNone},
		{"public suffix list: unaligned across co.uk", "mail.example.co.uk", spfPass("other.co.uk"), nil, 0, "fail", PolicyReject, PolicyReject},
		{"pct=50 sampled", "half.test", spfFail("half.test"), nil, 49, "fail", PolicyReject, PolicyReject},
		{"pct=50 not sampled: reject → quarantine", "half.test", spfFail("half.test"), nil, 50, "fail", PolicyReject, PolicyQuarantine},
		{"pct=0 quarantine → none", "halfq.test", spfFail("halfq.test"), nil, 0, "fail", PolicyQuarantine, PolicyNone},
		{"tag names and policies case-insensitive", "upper.test", spfPass("sub.upper.test"), nil, 0, "fail", PolicyReject, PolicyReject},
		{"missing record", "norecord.test", spfFail("norecord.test"), nil, 0, "none", "", PolicyNone},
		{"DNS tempfail", "down.test", spfPass("down.test"), nil, 0, "temperror", "", PolicyNone},
		{"DNS tempfail at the organizational domain", "sub.down2.test", spfPass("sub.down2.test"), nil, 0, "temperror", "", PolicyNone},
		{"aligned SPF temperror, nothing passes", "example.org", spf.Outcome{Result: spf.TempError, Domain: "example.org"}, nil, 0, "temperror", PolicyReject, PolicyNone},
		{"aligned DKIM temperror, nothing passes", "example.org", spfFail("x.test"), dkim("example.org", "temperror"), 0, "temperror", PolicyReject, PolicyNone},
		{"temperror but an aligned pass", "example.org", spf.Outcome{Result: spf.TempError, Domain: "example.org"}, dkim("example.org", "pass"), 0, "pass", PolicyReject, PolicyNone},
		{"two records: no DMARC", "two.test", spfFail("two.test"), nil, 0, "none", "", PolicyNone},
		{"other TXT records ignored", "other.test", spfFail("other.test"), nil, 0, "fail", PolicyQuarantine, PolicyQuarantine},
		{"invalid p without rua: no DMARC", "badp.test", spfFail("badp.test"), nil, 0, "none", "", PolicyNone},
		{"invalid p with rua: p=none", "badprua.test", spfFail("badprua.test"), nil, 0, "fail", PolicyNone, PolicyNone},
		{"invalid sp without rua: no DMARC", "badsp.test", spfFail("badsp.test"), nil, 0, "none", "", PolicyNone},
		{"v= not first: not a record", "notfirst.test", spfFail("notfirst.test"), nil, 0, "none", "", PolicyNone},
		{"bad optional tags take defaults", "garbage-pct.test", spfFail("x.test"), nil, 99, "fail", PolicyReject, PolicyReject},
		{"bad adkim is relaxed", "nothing-else.test", spf.Outcome{}, dkim("d.nothing-else.test", "pass"), 0, "pass", PolicyQuarantine, PolicyNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true, Rand: func(n int) int {
				if n != 100 {
					t.Errorf("Rand(%d), want Rand(100)", n)
				}
				return tc.rand
			}})
			got := c.evalDMARC(context.Background(), tc.from, tc.spf, tc.dkim)
			if got.Result != tc.want || got.Requested != tc.requested || got.Disposition != tc.dis {
				t.Errorf("got %s requested %q disposition %q (%s), want %s %q %q",
					got.Result, got.Requested, got.Disposition, got.Problem, tc.want, tc.requested, tc.dis)
			}
		})
	}
}

func TestFromDomains(t *testing.T) {
	for _, tc := range []struct {
		head    string
		want    []string
		problem bool
	}{
		{"From: a@Example.ORG\r\n", []string{"example.org"}, false},
		{"From: \"A, B\" <a@example.org>\r\n", []string{"example.org"}, false},
		{"From: =?utf-8?q?J=C3=B6rg?= <j@example.org>\r\n", []string{"example.org"}, false},
		{"From: a@example.org,\r\n b@example.org\r\n", []string{"example.org"}, false},
		{"From: a@example.org, b@other.test\r\n", []string{"example.org", "other.test"}, false},
		{"From: a@example.org\r\nFrom: b@other.test\r\n", []string{"example.org", "other.test"}, false},
		{"To: a@example.org\r\n", nil, true},
		{"From: not an address\r\n", nil, true},
		{"From: Bank <ceo@bank.test>>\r\n", []string{"bank.test"}, false},
		{"From: \"unterminated <ceo@Bank.test>\r\n", []string{"bank.test"}, false},
		{"From: a@b.test, c@d.test, e@f.test, g@h.test, i@j.test, k@l.test\r\n", nil, true},
		{"From: a@[192.0.2.1]\r\n", nil, true},
		{"From: a@[192.0.2.1], b@bank.test\r\n", []string{"bank.test"}, false},
		{"From: b@bank.test\r\nFrom: x@[127.0.0.1]\r\n", []string{"bank.test"}, false},
		{"From: x@[127.0.0.1]\r\nFrom: b@Bank.Test.\r\n", []string{"bank.test"}, false},
		{"From: ceo@bänk.test\r\n", []string{"xn--bnk-qla.test"}, false},
		{"From: ceo@BA\u0308NK.test\r\n", []string{"xn--bnk-qla.test"}, false},
		{"From: <ceo@bänk.test>>\r\n", []string{"xn--bnk-qla.test"}, false},
		{"From: ceo@xn--bnk-qla.test\r\n", []string{"xn--bnk-qla.test"}, false},
		{"From: a@b.test\r\nFrom: c@d.test\r\nFrom: e@f.test\r\nFrom: g@h.test\r\nFrom: i@j.test\r\nFrom: k@l.test\r\n", nil, true},
		{"From: a@x..test\r\n", nil, true},
		{"From: a@-x.test\r\n", nil, true},
		{"From: a@\r\n", nil, true},
		{"From:\r\n", nil, true},
	} {
		got, problem := fromDomains(header([]byte(tc.head + "\r\n")))
		if (problem != "") != tc.problem || len(got) != len(tc.want) {
			t.Errorf("%q: %q %q, want %q (problem %v)", tc.head, got, problem, tc.want, tc.problem)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%q: %q, want %q", tc.head, got, tc.want)
			}
		}
	}
}
