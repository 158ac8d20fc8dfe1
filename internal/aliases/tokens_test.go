package aliases

import (
	"slices"
	"testing"
)

func TestSplitAddresses(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"alice, bob", []string{"alice", "bob"}},
		{"alice, bob carol\tdave", []string{"alice", "bob", "carol", "dave"}}, // missing commas
		{`"|/usr/bin/vacation alice"`, []string{"|/usr/bin/vacation alice"}},
		{`|/usr/bin/vacation alice`, []string{"|/usr/bin/vacation", "alice"}},
		{`:include:/etc/mail/list, |/bin/cmd -x`, []string{":include:/etc/mail/list", "|/bin/cmd", "-x"}},
		{`/var/log/f.log, ~/mbox`, []string{"/var/log/f.log", "~/mbox"}},
		{`"x y", a.b@c.d, user@[192.0.2.1]`, []string{"x y", "a.b@c.d", "user@[192.0.2.1]"}},
		{`Some Name <z@w>, "quoted \" in"`, []string{"z@w", `quoted " in`}},
		{`"Name, Quoted" <z@w>`, []string{"z@w"}},
		{`b (comment, with comma) c`, []string{"b", "c"}},
		{`list: a, b;, c`, []string{"a", "b", "c"}},
		{`x\ y`, []string{"x y"}},
		{`\root, alice`, []string{"root", "alice"}},
		{`""`, []string{""}},
		{``, nil},
		{`  ,, `, nil},
		{`"unterminated, a`, []string{"unterminated, a"}},
	}
	for _, tt := range tests {
		if got := splitAddresses(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitAddresses(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The stored (externalized) value must split into the same destinations
// as the text written in the alias file.
func TestExternalizeRoundTrip(t *testing.T) {
	for _, in := range []string{
		`alice, bob carol`, `"|/usr/bin/foo bar"`, `x\ y, "a\"b", [1.2.3.4]`,
		`Name <z@w>`, `a (c) b`, `:include:/x/y.z`, `"back\\slash" q`,
	} {
		stored := externalize(scan(in))
		if a, b := splitAddresses(in), splitAddresses(stored); !slices.Equal(a, b) {
			t.Errorf("%q stored as %q: %q vs %q", in, stored, a, b)
		}
	}
}
