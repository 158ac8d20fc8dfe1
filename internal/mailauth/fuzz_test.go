package mailauth

import (
	"strings"
	"testing"
)

// FuzzAuthservID: the forgery filter's parser never panics, returns a
// non-empty id when ok, and finds the id of every header we write.
func FuzzAuthservID(f *testing.F) {
	for _, s := range []string{"mx.example.org; spf=pass", `"q\"x"; none`, "(a (b) \\) c) id; none",
		"(unbalanced", `"unterminated`, "\r\n\t x", "\\", "(\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := AuthservID(v)
		if ok && id == "" {
			t.Fatalf("AuthservID(%q): ok with an empty id", v)
		}
		// A token id written by format is found again.
		tok := strings.Map(func(r rune) rune {
			if r < 0x80 && isTokenChar(byte(r)) {
				return r
			}
			return -1
		}, v)
		if tok == "" {
			return
		}
		h := format(tok, []result{{method: "spf", value: "pass", comment: v, reason: v, props: [][2]string{{"smtp.mailfrom", v}}}})
		if got, ok := AuthservID(h); !ok || got != tok {
			t.Fatalf("AuthservID(format(%q)) = %q %v", tok, got, ok)
		}
		if !ours(h, strings.ToUpper(tok)) {
			t.Fatalf("ours(format(%q)) false for the upper-case id", tok)
		}
		if strings.Count(h, "\n") != 1 || strings.Count(h, "\r") != 1 {
			t.Fatalf("format(%q) broke lines: %q", v, h)
		}
	})
}

// FuzzDMARCRecord: record handling never panics and keeps its values in
// range whatever the TXT string.
func FuzzDMARCRecord(f *testing.F) {
	for _, s := range []string{"v=DMARC1; p=reject", "v=DMARC1;p=none;sp=quarantine;pct=5;adkim=s;aspf=r;rua=mailto:a@b",
		"v=DMARC1; p=bogus; rua=x", "v = DMARC1 ; P = Reject", "v=DMARC1; pct=-1; pct=200", ";;;=;=", "v=DMARC1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		_ = isDMARC(txt)
		r := parseRecord(txt)
		if r.pct < 0 || r.pct > 100 {
			t.Fatalf("pct %d from %q", r.pct, txt)
		}
		for _, p := range []Policy{r.p, r.sp} {
			switch p {
			case "", PolicyNone, PolicyQuarantine, PolicyReject:
			default:
				t.Fatalf("policy %q from %q", p, txt)
			}
		}
		if r.invalidP != (r.p == "") {
			t.Fatalf("invalidP %v with p %q from %q", r.invalidP, r.p, txt)
		}
	})
}

// FuzzFromDomains: the From field reading never panics and gives at
// most maxFromDomains lower-case ASCII domain names (U-labels as
// A-labels), or a problem.
func FuzzFromDomains(f *testing.F) {
	for _, s := range []string{"a@example.org", "\"x\" <a@b.test>>", "=?utf-8?q?x?= <a@b.test>", "a@[1.2.3.4]", "@@", "<@.>",
		"ceo@bänk.test", "x@[127.0.0.1], a@b.test", "a@x..test"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := header([]byte("From: " + v + "\r\n\r\n"))
		ds, problem := fromDomains(h)
		if (problem == "") == (len(ds) == 0) || len(ds) > maxFromDomains {
			t.Fatalf("fromDomains(%q) = %q, %q", v, ds, problem)
		}
		for _, d := range ds {
			if a, err := aLabels(d); d == "" || d != strings.ToLower(d) || err != nil || a != d {
				t.Fatalf("fromDomains(%q): domain %q", v, d)
			}
		}
	})
}
