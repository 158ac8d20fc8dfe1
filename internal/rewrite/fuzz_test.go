package rewrite

import (
	"strings"
	"testing"
)

// FuzzAddrSpans: whatever the header value, the spans are in order,
// inside it, never overlapping, never empty, and hold no top-level
// separator; replacing each by itself gives the value back. The seed
// corpus is testdata/fuzz/FuzzAddrSpans.
func FuzzAddrSpans(f *testing.F) {
	for _, s := range []string{" Joe <joe@x>, ann@y (Ann)", ` "Doe, John" <john@x>`, " team: a@x, B <b@y>;",
		" <@r:joe@x>", " (a (nested) comment) joe@x", " \"unterminated", " <", "a@x,\r\n\tb@y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		last := 0
		var b strings.Builder
		for _, s := range addrSpans(v) {
			if s[0] < last || s[1] <= s[0] || s[1] > len(v) {
				t.Fatalf("addrSpans(%q): bad span %v after %d", v, s, last)
			}
			b.WriteString(v[last:s[0]])
			b.WriteString(v[s[0]:s[1]])
			last = s[1]
		}
		b.WriteString(v[last:])
		if b.String() != v {
			t.Fatalf("rebuilt %q from %q", b.String(), v)
		}
	})
}

// FuzzSplitList: the addresses of a table result are never empty and
// hold no separator outside quotes.
func FuzzSplitList(f *testing.F) {
	for _, s := range []string{"a@b, c@d", `"x, y"@b <c@d>`, "", ",,", `"\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, a := range splitList(v) {
			if a == "" {
				t.Fatalf("splitList(%q): an empty address", v)
			}
			if !strings.Contains(a, `"`) && strings.ContainsAny(a, ", \t\r\n") {
				t.Fatalf("splitList(%q): %q holds a separator", v, a)
			}
		}
	})
}
