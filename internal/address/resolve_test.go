package address

import (
	"net/netip"
	"strings"
	"testing"
)

const localHost = "mail.example.test"

// testIsLocal is mydestination = mail.example.test, localhost with
// inet_interfaces = 127.0.0.1, the set-up the expectations were measured in.
func testIsLocal(d string) bool {
	if ip, ok := LiteralIP(d); ok {
		return ip == netip.MustParseAddr("127.0.0.1")
	}
	return strings.EqualFold(d, localHost) || strings.EqualFold(d, "localhost")
}

func testResolveOptions() ResolveOptions { return DefaultResolveOptions(localHost, testIsLocal) }

// TestRelayClassics runs the addresses open-relay testers send through
// RCPT TO parsing and resolution. Each must be refused as syntax or end at
// the remote destination; only a genuinely local address may be local.
func TestRelayClassics(t *testing.T) {
	const L = localHost
	for _, c := range []struct {
		rcpt   string
		domain string // resolved domain; "" = refused as syntax
		local  bool
	}{
		{"<user@remote.example>", "remote.example", false},
		{"<user%remote.example@" + L + ">", "remote.example", false},
		{"<remote.example!user@" + L + ">", "remote.example", false},
		{`<"user@remote.example"@` + L + ">", "remote.example", false},
		// Postfix reads this Sendmail form like the quoted one (and relay-
		// denies it); RFC 5321 forbids an unquoted '@' and so do we.
		{"<user@remote.example@" + L + ">", "", false},
		{"<@" + L + ":user@remote.example>", "remote.example", false},
		{"<user@[192.0.2.9]>", "[192.0.2.9]", false},
		{"<user%remote.example@[127.0.0.1]>", "remote.example", false},
		{`<"user%remote.example"@` + L + ">", "remote.example", false},
		{"<user@remote.example.>", "remote.example", false},
		{"<user@" + L + ".>", L, true},
		{"<user@" + L + "..>", "", false},
		// More of the same family.
		{`<"user!remote.example"@` + L + ">", "user", false},
		{"<remote.example!user%other.example@" + L + ">", "remote.example", false},
		{"<user%remote.example%" + L + "@" + L + ">", "remote.example", false},
		{"<" + L + "!remote.example!user@" + L + ">", "remote.example", false},
		{`<"user@remote.example"@localhost.>`, "remote.example", false},
		{`<"user@remote.example."@` + L + ">", "remote.example", false},
		{"<@remote.example:user@" + L + ">", L, true},
		{`<"@remote.example:user"@` + L + ">", L, true},
		{"<user@[127.0.0.1]>", "[127.0.0.1]", true},
		{"<user@[IPv6:::ffff:127.0.0.1]>", "[IPv6:::ffff:127.0.0.1]", true},
		{"<user@127.0.0.1>", "", false},
		{"<user@[127.0.0.1].>", "", false},
		{"<user>", L, true},
		{"<user%remote.example>", "remote.example", false},
		{"<remote.example!user>", "remote.example", false},
	} {
		o := Options{Rcpt: true}
		p, _, err := o.Parse(c.rcpt, false)
		if err == nil {
			r := Resolve(p.Addr, testResolveOptions())
			if err = o.CheckResolved(r, false); err == nil {
				local := testResolveOptions().Local(r)
				if r.Domain != c.domain || local != c.local {
					t.Errorf("%s: resolved to %s (local %v), want domain %q (local %v)", c.rcpt, r, local, c.domain, c.local)
				}
				continue
			}
		}
		if c.domain != "" {
			t.Errorf("%s: %v, want domain %q", c.rcpt, err, c.domain)
		} else if err.Error() != "501 5.1.3 Bad recipient address syntax" {
			t.Errorf("%s: %v, want 501 5.1.3", c.rcpt, err)
		}
	}
}

// TestResolvePostfix compares Resolve with trivial-rewrite's answers,
// taken from smtpd's verbose log (resolve_clnt: ... rcpt=... flags=...
// class=...) of Postfix 3.7.11 with the defaults. Inputs are internal
// forms: Local is the unquoted local part.
func TestResolvePostfix(t *testing.T) {
	const L = localHost
	for _, c := range []struct {
		in    Address
		want  string // internal form of the result
		class string // local, remote, routed or error
	}{
		{Address{"user%remote.example%" + L, L}, "user@remote.example", "remote"},
		{Address{"a!b!user", L}, "b!user@a", "routed"},
		{Address{L + "!user", L}, "user@" + L, "local"},
		{Address{"user%remote.example", "localhost"}, "user@remote.example", "remote"},
		{Address{"user%remote.example@" + L, L}, "user@remote.example", "remote"},
		{Address{"@remote.example:user", L}, "user@" + L, "local"},
		{Address{"user@", L}, "user@", "error"},
		{Address{"@", L}, "MAILER-DAEMON@", "error"},
		{Address{"user@" + L, L}, "user@" + L, "local"},
		{Address{"a b!c%d", L}, "a b!c@d", "routed"},
		{Address{"a b!c", L}, "c@a b", "error"},
		{Address{"a b%c", L}, "a b@c", "remote"},
		{Address{"x!a%b.", L}, "x!a@b", "routed"},
		{Address{"user@remote..example", L}, "user@remote..example", "error"},
		{Address{"user@[127.0.0.1]", "[127.0.0.1]"}, "user@[127.0.0.1]", "local"},
		{Address{"user%[192.0.2.9]", "[127.0.0.1]"}, "user@[192.0.2.9]", "remote"},
		{Address{"user@remote.example", "[127.0.0.1]"}, "user@remote.example", "remote"},
		{Address{"!user", L}, "user@", "error"},
		{Address{"remote!", L}, "@remote", "remote"},
		{Address{"%remote", L}, "@remote", "remote"},
		{Address{"user%", L}, "user@", "error"},
		{Address{"user%remote.example.", L}, "user@remote.example", "remote"},
		{Address{"user%" + L + ".", L}, "user@" + L, "local"},
		{Address{"", "remote.example"}, "@remote.example", "remote"},
		{Address{"", L}, "MAILER-DAEMON@" + L, "local"},
		{Address{"user.", L}, "user.@" + L, "local"},
		{Address{`a"b@remote.example`, L}, `a"b@remote.example`, "remote"},
		{Address{`a\b@remote.example`, L}, `a\b@remote.example`, "remote"},
		{Address{`a\`, L}, `a\@` + L, "local"},
		{Address{"user", ""}, "user@" + L, "local"},
		{Address{"postmaster", ""}, "postmaster@" + L, "local"},
		{Address{"user", "MAIL.EXAMPLE.TEST"}, "user@MAIL.EXAMPLE.TEST", "local"},
		{Address{"user", "LocalHost"}, "user@LocalHost", "local"},
		{Address{"remote.example!user%other.example", L}, "user%other.example@remote.example", "routed"},
		{Address{"user%" + L, L}, "user@" + L, "local"},
		{Address{"user!remote", L}, "remote@user", "remote"},
		{Address{"user@remote.example@", ""}, "user@remote.example", "remote"},
		{Address{"user", L + ".."}, "user@" + L + "..", "error"},
		{Address{"user", "."}, "user@.", "error"},
		{Address{"user", "[0.1.2.3]"}, "user@[0.1.2.3]", "error"},
	} {
		o := testResolveOptions()
		r := Resolve(c.in, o)
		class := "remote"
		switch {
		case !ValidDomain(r.Domain, true):
			class = "error"
		case r.Routed():
			class = "routed"
		case o.Local(r):
			class = "local"
		}
		if got := r.Local + "@" + r.Domain; got != c.want || class != c.class {
			t.Errorf("Resolve(%q) = %q %s, want %q %s", c.in.internal(), got, class, c.want, c.class)
		}
	}
}

// TestResolveSwitches covers the parameters that are off by default or
// that a site may turn off.
func TestResolveSwitches(t *testing.T) {
	const L = localHost
	for _, c := range []struct {
		set  func(*ResolveOptions)
		in   Address
		want string
	}{
		{func(o *ResolveOptions) { o.AllowPercentHack = false }, Address{"user%remote.example", L}, "user%remote.example@" + L},
		{func(o *ResolveOptions) { o.SwapBangPath = false }, Address{"remote.example!user", L}, "remote.example!user@" + L},
		{func(o *ResolveOptions) { o.ResolveDequotedAddress = false }, Address{"user@remote.example", L}, "user@remote.example@" + L},
		{func(o *ResolveOptions) { o.ResolveNullDomain = true }, Address{"user@", L}, "user@" + L},
		{func(o *ResolveOptions) { o.AppendDotMyDomain = true }, Address{"user", "relay"}, "user@relay.example.test"},
		{func(o *ResolveOptions) { o.MyOrigin = "example.test" }, Address{"user", ""}, "user@example.test"},
		{func(o *ResolveOptions) { o.AppendAtMyOrigin = false }, Address{"user", ""}, "user@" + L},
	} {
		o := testResolveOptions()
		c.set(&o)
		r := Resolve(c.in, o)
		if got := r.Local + "@" + r.Domain; got != c.want {
			t.Errorf("Resolve(%q) = %q, want %q", c.in.internal(), got, c.want)
		}
		// Whatever the switches, an address left with operators in its
		// local part is not local.
		if r.Routed() && o.Local(r) {
			t.Errorf("Resolve(%q) = %q: routed but local", c.in.internal(), r.internal())
		}
	}
}

func TestLiteralIP(t *testing.T) {
	for in, want := range map[string]string{
		"[192.0.2.1]": "192.0.2.1", "[IPv6:2001:db8::1]": "2001:db8::1",
		"[ipv6:::ffff:127.0.0.1]": "127.0.0.1", "[0177.0.0.1]": "", "[127.0.0.01]": "",
		"[2001:db8::1]": "", "192.0.2.1": "", "[1.2.3]": "", "[IPv6:fe80::1%eth0]": "",
	} {
		ip, ok := LiteralIP(in)
		got := ""
		if ok {
			got = ip.String()
		}
		if got != want {
			t.Errorf("LiteralIP(%q) = %q, want %q", in, got, want)
		}
	}
}

// allow_min_user: a resolved local part starting with '-' is a syntax
// error unless allowed, sender and recipient alike.
func TestCheckResolvedMinUser(t *testing.T) {
	for _, tc := range []struct {
		local string
		allow bool
		ok    bool
	}{
		{"-alice", false, false}, {"-alice", true, true}, {"a-lice", false, true}, {"alice-", false, true},
	} {
		for _, rcpt := range []bool{false, true} {
			err := Options{Rcpt: rcpt, AllowMinUser: tc.allow}.CheckResolved(Address{Local: tc.local, Domain: "example.com"}, false)
			if (err == nil) != tc.ok {
				t.Errorf("%s allow=%v rcpt=%v: %v", tc.local, tc.allow, rcpt, err)
			}
		}
	}
}
