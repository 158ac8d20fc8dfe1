package address

import (
	"strings"
	"testing"
)

const (
	badSender = "501 5.1.7 Bad sender address syntax"
	badRcpt   = "501 5.1.3 Bad recipient address syntax"
	needUTF8  = "553 5.6.7 Must declare SMTPUTF8 to send unicode address"
)

// parseCase: arg is the text after "MAIL FROM:" / "RCPT TO:"; want is the
// path as String() prints it, or the reply. "pf:" notes where Postfix
// 3.7.11 answers differently (measured) and why we do not follow.
type parseCase struct{ arg, want, pf string }

func runParse(t *testing.T, o Options, smtputf8 bool, cases []parseCase) {
	t.Helper()
	for _, c := range cases {
		p, _, err := o.Parse(c.arg, smtputf8)
		got := p.String()
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%+v Parse(%q) = %q, want %q", o, c.arg, got, c.want)
		}
	}
}

func TestParseMail(t *testing.T) {
	label64 := strings.Repeat("x", 64)
	runParse(t, Options{}, true, []parseCase{
		{"<a@b.example>", "<a@b.example>", ""},
		{" <a@b.example>", "<a@b.example>", ""},
		{"  <a@b.example>  ", "<a@b.example>", ""},
		{"a@b.example", "<a@b.example>", ""},
		{"a@b.example SIZE=10", "<a@b.example>", ""},
		{`"a"@b.example`, "<a@b.example>", ""},
		{"<a@b.example", badSender, ""},
		{"a@b.example>", badSender, "pf: 250"},
		{"<>", "<>", ""},
		{"<> SIZE=10", "<>", ""},
		{"<>SIZE=10", badSender, "pf: 250 with sender SIZE=10"},
		{"<a@b.example>SIZE=10", badSender, ""},
		{"<a@b.example>\tSIZE=10", "<a@b.example>", ""},
		{"<a b@b.example>", badSender, ""},
		{`<"a b"@b.example>`, `<"a b"@b.example>`, ""},
		{"<a@b c>", badSender, ""},
		{"<a@b.example>x", badSender, ""},
		{"<a@b.example> (comment)", "555 5.5.4 Unsupported option: (comment)", ""},
		{"<a@b.example>,<c@d.example>", badSender, ""},
		{"<a@b.example> <c@d.example>", "555 5.5.4 Unsupported option: <c@d.example>", ""},
		{"<postmaster>", "<postmaster>", ""},
		{"<user>", "<user>", ""},
		{"<@a,@b:u@c.example>", "<u@c.example>", ""},
		{"<@a.example:u@c.example>", "<u@c.example>", ""},
		{"<@[192.0.2.1]:u@c.example>", "<u@c.example>", ""},
		{"<@a,@b:>", badSender, "pf: 250, null sender"},
		{"<@a,b:u@c.example>", badSender, "pf: 250"},
		{"<a@[1.2.3.4]>", "<a@[1.2.3.4]>", ""},
		{"<a@[300.1.1.1]>", badSender, ""},
		{"<a@[IPv6:2001:db8::1]>", "<a@[IPv6:2001:db8::1]>", ""},
		{"<a@[ipv6:::1]>", "<a@[ipv6:::1]>", ""},
		{"<a@[IPv6:zz]>", badSender, ""},
		{"<a@[2001:db8::1]>", badSender, ""},
		{"<a@[tag:foo]>", badSender, ""},
		{"<a@1.2.3.4>", badSender, ""},
		{"<a@123>", badSender, ""},
		{"<a@b..c>", badSender, ""},
		{"<a@-b.c>", badSender, ""},
		{"<a@b-.c>", badSender, ""},
		{"<a@.b>", badSender, ""},
		{"<a@.>", badSender, ""},
		{"<a@b.example.>", "<a@b.example.>", ""},
		{"<a@b.example..>", badSender, ""},
		{"<a@b_c.example>", "<a@b_c.example>", ""},
		{"<a@123.example>", "<a@123.example>", ""},
		{"<a@b.123>", "<a@b.123>", ""},
		{"<a@" + label64 + ".example>", badSender, ""},
		{"<.a@b.example>", `<".a"@b.example>`, ""},
		{"<a..b@b.example>", `<"a..b"@b.example>`, ""},
		{"<a.@b.example>", `<"a."@b.example>`, ""},
		{`<a\@b@c.example>`, badSender, "pf: 250, local part a@b"},
		{`<"a\"b"@c.example>`, `<"a\"b"@c.example>`, ""},
		{`<"a\\b"@c.example>`, `<"a\\b"@c.example>`, ""},
		{`<"a@b"@c.example>`, `<"a@b"@c.example>`, ""},
		{`<"a>b"@c.example>`, `<"a>b"@c.example>`, ""},
		{"<a@>", badSender, ""},
		{"<@b.example>", badSender, "pf: 250, MAILER-DAEMON"},
		{`<"">`, badSender, "pf: 250, null sender"},
		{`<""@b.example>`, `<""@b.example>`, ""},
		{"<a@b.example@c.example>", badSender, "pf: 250, like \"a@b.example\"@c.example"},
		{"<a%b@c.example>", "<a%b@c.example>", ""},
		{"<a!b@c.example>", "<a!b@c.example>", ""},
		{"<<a@b.example>>", badSender, "pf: 250"},
		{"<a@b.example>>", badSender, "pf: 250"},
		{`<a@b.example\>`, badSender, ""},
		{"<a(x)@b.example>", badSender, "pf: 250 unless strict"},
		{"<a @b.example>", badSender, "pf: 250"},
		{"< a@b.example>", badSender, "pf: 250"},
		{"<a;b@c.example>", badSender, ""},
		{"<a,b@c.example>", badSender, ""},
		{"<a:b@c.example>", badSender, "pf: 250"},
		{"<a[b@c.example>", badSender, ""},
		{"<a@b[c]>", badSender, ""},
		{"<a@[b]>", badSender, ""},
		{"<jö@b.example>", needUTF8, "pf: 250 unless strict_smtputf8"},
		{"<jö@b.example> SMTPUTF8", "<jö@b.example>", ""},
		{"<a@bö.example>", badSender, ""},
		{"<a@bö.example> SMTPUTF8", "<a@bö.example>", ""},
		{"<j\xf6@b.example>", "500 5.5.2 Error: bad UTF-8 syntax", ""},
		{"<a\x01b@c.example>", badSender, "pf: 250"},
		{"<a\x7fb@c.example>", badSender, "pf: 250"},
		{"<a\u0085b@c.example> SMTPUTF8", badSender, "pf: 250"},
		{"<a\x00b@c.example>", badSender, ""},
		{"<a\tb@c.example>", badSender, ""},
		{"<a@b.example\r\n>", badSender, ""},
		{`<"a` + "\r\n" + `"@b.example>`, badSender, ""},
		{"<a@b.example>\x01", badSender, ""},
		{"", "501 5.5.4 Syntax: MAIL FROM:<address>", ""},
		{"  ", "501 5.5.4 Syntax: MAIL FROM:<address>", ""},
	})
	// smtputf8_enable = no: the keyword is unknown.
	runParse(t, Options{}, false, []parseCase{
		{"<a@b.example> SMTPUTF8", "555 5.5.4 Unsupported option: SMTPUTF8", ""},
		{"<a@b.example> smtputf8", "555 5.5.4 Unsupported option: smtputf8", ""},
	})
}

func TestParseStrict(t *testing.T) {
	runParse(t, Options{Strict: true}, true, []parseCase{
		{"<a@b.example>", "<a@b.example>", ""},
		{" <a@b.example>", "<a@b.example>", ""},
		{"a@b.example", badSender, ""},
		{`"a"@b.example`, badSender, ""},
		{"<>", "<>", ""},
		{"<@a,@b:u@c.example>", "<u@c.example>", ""},
		{"<postmaster>", "<postmaster>", ""},
	})
	runParse(t, Options{Rcpt: true, Strict: true}, false, []parseCase{
		{"u@mail.example.test", badRcpt, ""},
	})
}

func TestParseRcpt(t *testing.T) {
	runParse(t, Options{Rcpt: true}, false, []parseCase{
		{"<u@mail.example.test>", "<u@mail.example.test>", ""},
		{" <u@mail.example.test>", "<u@mail.example.test>", ""},
		{"u@mail.example.test", "<u@mail.example.test>", ""},
		{"<>", badRcpt, ""},
		{`<"">`, badRcpt, ""},
		{"<u@mail.example.test>SIZE=10", badRcpt, ""},
		{"<postmaster>", "<postmaster>", ""},
		{"<POSTMASTER>", "<POSTMASTER>", ""},
		{"<@mail.example.test>", badRcpt, "pf: 250, MAILER-DAEMON"},
		{"<@a,@b:>", badRcpt, ""},
		{"<ü@mail.example.test>", needUTF8, "pf: 250 unless strict_smtputf8"},
		{"<u@müll.example>", badRcpt, ""},
		{"<u@mail.example.test> SIZE=10", "555 5.5.4 Unsupported option: SIZE=10", ""},
		{"<u@mail.example.test> SMTPUTF8", "555 5.5.4 Unsupported option: SMTPUTF8", ""},
		{"", "501 5.5.4 Syntax: RCPT TO:<address>", ""},
	})
	// In an SMTPUTF8 transaction.
	runParse(t, Options{Rcpt: true}, true, []parseCase{
		{"<ü@mail.example.test>", "<ü@mail.example.test>", ""},
		{`<"ü x"@mail.example.test>`, `<"ü x"@mail.example.test>`, ""},
		{"<u@müll.example>", "<u@müll.example>", ""},
		{"<u@MÜLL.example>", "<u@MÜLL.example>", ""},
		{"<u@xn--mll-hoa.example>", "<u@xn--mll-hoa.example>", ""},
		{"<u@\u200b.example>", badRcpt, ""},
		{"<u@a\u00a0b.example>", badRcpt, ""},
		{"<u@müll-.example>", badRcpt, ""},
		{"<u@[ü]>", badRcpt, ""},
		{"<\u200b@mail.example.test>", "<\u200b@mail.example.test>", ""},
		{"<a\u2028b@mail.example.test>", badRcpt, "pf: 250"},
	})
}

func TestPackageParsePath(t *testing.T) {
	p, rest, err := ParsePath(" <@a:u@b.example>  SIZE=1 BODY=8BITMIME", false)
	if err != nil || p.Addr != (Address{"u", "b.example"}) || rest != "SIZE=1 BODY=8BITMIME" || p.Raw != "<@a:u@b.example>" {
		t.Errorf("ParsePath = %+v, %q, %v", p, rest, err)
	}
	if _, _, err := ParsePath("<jö@b.example>", false); err == nil || err.Error() != needUTF8 {
		t.Errorf("ParsePath without smtputf8 = %v, want %s", err, needUTF8)
	}
	if _, _, err := ParsePath("<a@bö.example>", false); err == nil || err.Error() != badSender {
		t.Errorf("ParsePath UTF-8 domain without smtputf8 = %v, want %s", err, badSender)
	}
	if e, ok := errAs(Options{Rcpt: true}.ParsePath("<>", false)); !ok || e.Code != 501 || e.Status != "5.1.3" {
		t.Errorf("RCPT <>: %+v", e)
	}
}

func errAs(_ Path, _ string, err error) (*Error, bool) {
	e, ok := err.(*Error)
	return e, ok
}

func TestAddressString(t *testing.T) {
	for a, want := range map[Address]string{
		{"user", "example.com"}:    "user@example.com",
		{"a.b+c", "x"}:             "a.b+c@x",
		{"a b", "x"}:               `"a b"@x`,
		{`a"b\c`, "x"}:             `"a\"b\\c"@x`,
		{"user@remote", "local"}:   `"user@remote"@local`,
		{"", "x"}:                  `""@x`,
		{"postmaster", ""}:         "postmaster",
		{"a..b", "x"}:              `"a..b"@x`,
		{"jö", "bö.example"}:       "jö@bö.example",
		{"user", "[IPv6:::1]"}:     "user@[IPv6:::1]",
		{"x!y%z", "example.test."}: "x!y%z@example.test.",
	} {
		if got := a.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", a, got, want)
		}
	}
}
