package address

import "testing"

// TestCanonical: what the queue file, routing and the delivery log get.
// The cases marked "measured" are Postfix 3.7.11's queue and maillog
// (qmgr from=<...>, smtp to=<...>, orig_to=<...>) for the same RCPT TO
// or MAIL FROM; the others follow trivial-rewrite's rewrite.c.
func TestCanonical(t *testing.T) {
	const L = localHost
	other := func(o *ResolveOptions) { o.MyOrigin = "other.example.test" }
	for _, c := range []struct {
		path string
		set  func(*ResolveOptions)
		want string // SMTP form
	}{
		{"<known>", nil, "known@" + L},                                       // measured
		{"<known>", other, "known@other.example.test"},                       // measured
		{`<"a b">`, other, `"a b"@other.example.test`},                       // measured
		{`<"user@example.test">`, nil, "user@example.test"},                  // measured
		{`<"user@example.test">`, other, "user@example.test"},                // measured
		{"<Known>", nil, "Known@" + L},                                       // case is kept
		{"<postmaster>", nil, "postmaster@" + L},                             //
		{"<user@remote.example>", nil, "user@remote.example"},                //
		{"<user@remote.example.>", nil, "user@remote.example"},               // trailing dot
		{"<user%remote.example>", nil, "user@remote.example"},                // percent hack
		{"<remote.example!user>", nil, "user@remote.example"},                // bang path
		{"<user%remote.example@" + L + ">", nil, "user%remote.example@" + L}, // left to Resolve
		{`<"user@remote.example"@` + L + ">", nil, `"user@remote.example"@` + L},
		{"<user@host>", func(o *ResolveOptions) { o.AppendDotMyDomain = true }, "user@host.example.test"},
		{"<user@[192.0.2.1]>", func(o *ResolveOptions) { o.AppendDotMyDomain = true }, "user@[192.0.2.1]"},
		{"<user>", func(o *ResolveOptions) { o.AppendAtMyOrigin = false }, "user@" + L},
		{"<user%remote.example>", func(o *ResolveOptions) { o.AllowPercentHack = false }, "user%remote.example@" + L},
		{"<remote.example!user>", func(o *ResolveOptions) { o.SwapBangPath = false }, "remote.example!user@" + L},
	} {
		p, _, err := Options{Rcpt: true}.Parse(c.path, false)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		o := testResolveOptions()
		if c.set != nil {
			c.set(&o)
		}
		if got := Canonical(p.Addr, o).String(); got != c.want {
			t.Errorf("Canonical(%s) = %s, want %s", c.path, got, c.want)
		}
	}
	// cleanup's empty_address_recipient, for callers with an empty address.
	o := testResolveOptions()
	o.MyOrigin = "other.example.test"
	if got := Canonical(Address{}, o).String(); got != "MAILER-DAEMON@other.example.test" {
		t.Errorf("Canonical of the empty address = %s", got)
	}
	// Left empty by the percent hack: settled as the resolver settles it.
	if got := Canonical(Address{Local: "%"}, o).String(); got != "MAILER-DAEMON@"+L {
		t.Errorf("Canonical(%%) = %s", got)
	}
}
