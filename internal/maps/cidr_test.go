package maps

import (
	"strings"
	"testing"
)

// cidrCases: one rule set per case, queried with cidrKeys. Results and
// warnings were measured with postmap 3.7.11 ("-" = not found);
// TestDifferentialRules re-checks them against postmap when installed.
var cidrKeys = []string{"192.0.2.1", "10.0.0.1", "2001:db8::1"}

var cidrCases = []struct{ rules, results, warning string }{
	{"300.0.0.0/33 a", "- - -", `bad mask length in "300.0.0.0/33": skipping this rule`},
	{"300.0.0.0/x a", "- - -", `bad mask value in "300.0.0.0/x": skipping this rule`},
	{"1.2.3.4/33 a", "- - -", `bad mask length in "1.2.3.4/33": skipping this rule`},
	{"192.0.2.1/0 a", "- - -", `non-null host address bits in "192.0.2.1/0", perhaps you should use "0.0.0.0/0" instead: skipping this rule`},
	{"2001:db8::1/32 a", "- - -", `non-null host address bits in "2001:db8::1/32", perhaps you should use "2001:db8::/32" instead: skipping this rule`},
	{"0.0.0.0/0 a", "a a -", ""},
	{"::/0 a", "- - a", ""},
	{"!!192.0.2.0/24 a", "a - -", ""},
	{"! !192.0.2.0/24 a", "a - -", ""},
	{"!192.0.2.0/24 a", "- a -", ""}, // negation never matches the other family
	{"! 192.0.2.0/24 a", "- a -", ""},
	{"if10.0.0.0/8", "- - -", `bad network value in "if10.0.0.0/8": skipping this rule`},
	{"if!10.0.0.0/8", "- - -", "IF has no matching ENDIF"},
	{"if\t10.0.0.0 junk", "- - -", `bad address pattern: "10.0.0.0 junk": skipping this rule`},
	{"if 10.0.0.0/8 junk", "- - -", `bad mask value in "10.0.0.0/8 junk": skipping this rule`},
	{"ifx 1.2.3.4", "- - -", `bad address pattern: "ifx": skipping this rule`},
	{"endif", "- - -", "ENDIF without IF: skipping this rule"},
	{"ENDIFx", "- - -", `bad address pattern: "ENDIFx": skipping this rule`},
	{"endif!", "- - -", "garbage after ENDIF: skipping this rule"},
	{"endif # x", "- - -", "garbage after ENDIF: skipping this rule"},
	{"192.0.2.1", "- - -", "no lookup result: skipping this rule"},
	{"192.0.2.1/33", "- - -", `bad mask length in "192.0.2.1/33": skipping this rule`},
	{"x", "- - -", `bad address pattern: "x": skipping this rule`},
	{"!", "- - -", "no address pattern: skipping this rule"},
	{"if", "- - -", "no address pattern: skipping this rule"},
	{"IF !", "- - -", "no address pattern: skipping this rule"},
	{"2001:db8::/129 x", "- - -", `bad mask length in "2001:db8::/129": skipping this rule`},
	{"2001:db8::/33 x", "- - x", ""},
	{"::ffff:192.0.2.0/120 m", "- - -", ""},
	{"[2001:db8::1] x", "- - x", ""},
	{"[2001:db8::1]/128 x", "- - x", ""},
	{"[192.0.2.1]]/32 x", "- - -", `garbage after "[192.0.2.1]": skipping this rule`},
	{"[[192.0.2.1] x", "- - -", `bad address pattern: "[192.0.2.1": skipping this rule`},
	{"[192.0.2.0 x", "- - -", `missing ']' character after "[192.0.2.0": skipping this rule`},
	{"[] x", "- - -", `bad address pattern: "": skipping this rule`},
	{"[]/0 y", "- - -", `bad network value in "/0": skipping this rule`},
	{"192.0.2.1/32/ x", "- - -", `bad mask value in "192.0.2.1/32/": skipping this rule`},
	{"/24 x", "- - -", `bad network value in "/24": skipping this rule`},
	{"192.0.2.0/24\ttab\tvalue", "tab\tvalue - -", ""},
	{"1.2.3.4 #notcomment", "- - -", ""},
	{"1:2:3:4:5:6:7:8:9 a", "- - -", `bad address pattern: "1:2:3:4:5:6:7:8:9": skipping this rule`},
	{"1::2::3 a", "- - -", `bad address pattern: "1::2::3": skipping this rule`},
	{"fe80::1%eth0 z", "- - -", `bad address pattern: "fe80::1%eth0": skipping this rule`},
	{"010.0.0.0/8 z", "- - -", `bad network value in "010.0.0.0/8": skipping this rule`},
	{"1.2.3 z", "- - -", `bad address pattern: "1.2.3": skipping this rule`},
	{"10.0.0.0/008 z", "- z -", ""},
	{"10.0.0.0/99999999999999999999 z", "- - -", `bad mask length in "10.0.0.0/99999999999999999999": skipping this rule`},
	{"10.0.0.0/4294967304 wrapped", "- wrapped -", ""},
	{"if 10.0.0.0/8\n10.0.0.0/24 in\nendif\n0.0.0.0/0 out", "out in -", ""},
	{"if !10.0.0.0/8\n0.0.0.0/0 notten\nendif", "notten - -", ""},
	{"if 10.0.0.0/8\n0.0.0.0/0 unclosed", "- unclosed -", "IF has no matching ENDIF"},
	// A non-matching IF without ENDIF ends the search.
	{"if 192.0.0.0/8\n0.0.0.0/0 unclosed\n10.0.0.0/8 ten", "unclosed - -", "IF has no matching ENDIF"},
	{"if 2001:db8::/32\n0.0.0.0/0 v4in6block\nendif\n::/0 v6", "- - v6", ""},
}

func TestCIDRRules(t *testing.T) {
	for _, tc := range cidrCases {
		tbl, warnings := openText(t, "cidr", tc.rules+"\n")
		var got []string
		for _, k := range cidrKeys {
			v, ok, err := tbl.Lookup(k)
			if err != nil || !ok {
				v = "-"
			}
			got = append(got, v)
		}
		if strings.Join(got, " ") != tc.results {
			t.Errorf("%q: got %q, want %q", tc.rules, strings.Join(got, " "), tc.results)
		}
		var want []string
		if tc.warning != "" {
			want = []string{"cidr map F, line 1: " + tc.warning}
		}
		if strings.Join(warnings, "|") != strings.Join(want, "|") {
			t.Errorf("%q: warnings %q, want %q", tc.rules, warnings, want)
		}
	}
}

// Keys that inet_pton rejects find nothing, even with a catch-all rule.
func TestCIDRKeys(t *testing.T) {
	tbl, _ := openText(t, "cidr", "0.0.0.0/0 v4\n::/0 v6\n")
	for k, want := range map[string]string{
		"192.0.2.01": "-", "1.2.3.4.5": "-", "0x1.2.3.4": "-", " 192.0.2.1": "-",
		"192.0.2.1 ": "-", "[192.0.2.1]": "-", "2001:db8::1%1": "-", "2001:db8::1/128": "-",
		"2001:0db8:0000::1": "v6", "::FFFF:192.0.2.1": "v6", "192.0.2.1": "v4", "": "-",
	} {
		v, ok, _ := tbl.Lookup(k)
		if !ok {
			v = "-"
		}
		if v != want {
			t.Errorf("%q: got %q, want %q", k, v, want)
		}
	}
}
