package spf

import (
	"context"
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseRecord: no input panics the parser, and a parsed record
// evaluates (against a resolver that knows nothing) to a valid result.
func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{"v=spf1 -all", "v=spf1 a/24//64 mx:%{d2}/16 ptr ~all",
		"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.com redirect=%{o}",
		"v=spf1 exists:%{ir}.%{l1r-}._spf.%{d} exp=explain._spf.%{d} -all", "v=spf1 moo.cow=x%%y =all"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		rec, err := parseRecord(txt)
		if err != nil {
			return
		}
		for _, m := range rec.mechs {
			if m.qual == "" || m.name == "" {
				t.Fatalf("%q: mechanism %+v", txt, m)
			}
		}
		c := &Checker{Resolver: &fakeResolver{txt: map[string][]string{"example.com.": {txt}}}}
		o := c.CheckMailFrom(context.Background(), netip.MustParseAddr("192.0.2.1"), "mail.example.com", "a@example.com")
		if o.Result == None || o.Result == "" {
			t.Fatalf("%q: result %q", txt, o.Result)
		}
	})
}

// FuzzMacro: no macro-string panics the parser or the expander, and an
// expanded domain-spec never exceeds 253 octets.
func FuzzMacro(f *testing.F) {
	for _, s := range []string{"%{ir}.%{v}._spf.%{d2}", "%{S}%%%_%-", "%{l1r-+}.x", "%{i0}", "%{c} %{r} %{t}", "%", "%{"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, exp bool) {
		m, err := parseMacro(s, exp)
		if err != nil {
			return
		}
		for _, ip := range []string{"192.0.2.1", "2001:db8::1"} {
			e := &eval{c: &Checker{Resolver: &fakeResolver{}}, ctx: context.Background(),
				ip: netip.MustParseAddr(ip), sender: "a-b.c@example.com", local: "a-b.c",
				senderDomain: "example.com", helo: "mail.example.com"}
			_ = e.expand(m, "example.com")
			if tgt := e.target(m, "example.com"); len(tgt) > 253 && strings.Contains(tgt, ".") {
				t.Fatalf("%q: target of %d octets", s, len(tgt))
			}
		}
	})
}
