package address

import (
	"strings"
	"testing"
)

// Seed corpora live in testdata/fuzz/FuzzParsePath and
// testdata/fuzz/FuzzParseParams (classic relay tests and the measured
// Postfix cases of the table tests).

// badBytes may never reach an address, a parameter or a reply.
const badBytes = "\r\n\x00"

func checkError(t *testing.T, err error) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v is %T, not *Error", err, err)
	}
	if e.Code < 500 || e.Code > 599 || strings.ContainsAny(e.Reply(), badBytes) {
		t.Fatalf("bad reply %q", e.Reply())
	}
}

// FuzzParsePath checks that parsing never panics, that a parsed address
// holds no control characters, that String() parses back to the same
// Address, that the queued (Canonical) form of an accepted address parses
// back to itself, and that resolution, whatever the resolver switches, terminates
// with a result that is never both local and routed, that keeps a remote
// domain it started with, and that resolving again leaves unchanged.
func FuzzParsePath(f *testing.F) {
	f.Add("<user%remote.example@mail.example.test>", true, false, false, uint8(0))
	f.Add(`<"user@remote.example"@mail.example.test> NOTIFY=NEVER`, true, false, true, uint8(4))
	f.Fuzz(func(t *testing.T, arg string, rcpt, strict, smtputf8 bool, switches uint8) {
		o := Options{Rcpt: rcpt, Strict: strict}
		p, rest, err := o.ParsePath(arg, smtputf8)
		if err != nil {
			checkError(t, err)
			return
		}
		if strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "\t") {
			t.Fatalf("rest %q starts with a blank", rest)
		}
		if p.Null {
			if rcpt || p.Addr != (Address{}) {
				t.Fatalf("bad null path %+v", p)
			}
			return
		}
		a := p.Addr
		if strings.ContainsFunc(a.Local+a.Domain, isControl) || strings.ContainsAny(a.Local+a.Domain, badBytes) {
			t.Fatalf("control character in %#v", a)
		}
		if !smtputf8 && !a.ASCII() {
			t.Fatalf("non-ASCII %#v without smtputf8", a)
		}
		back, rest2, err := o.ParsePath("<"+a.String()+">", smtputf8)
		if err != nil || back.Addr != a || rest2 != "" {
			t.Fatalf("%#v: String() %q parses back to %#v, %q, %v", a, a.String(), back.Addr, rest2, err)
		}
		ro := fuzzResolveOptions(switches)
		r := Resolve(a, ro)
		if strings.ContainsAny(r.Local+r.Domain, badBytes) {
			t.Fatalf("Resolve(%#v) = %#v", a, r)
		}
		if d := strings.TrimSuffix(a.Domain, "."); ValidDomain(d, true) && !testIsLocal(d) &&
			!ro.AppendDotMyDomain && r.Domain != d {
			t.Fatalf("Resolve(%#v) = %#v: left the remote domain %s", a, r, d)
		}
		if o.CheckResolved(r, true) != nil {
			return
		}
		if ro.Local(r) && (r.Routed() || !testIsLocal(r.Domain)) {
			t.Fatalf("Resolve(%#v) = %#v: local but routed or foreign", a, r)
		}
		// The queued form of an accepted address has a valid domain and
		// parses back to itself: delivery agents and the SMTP client send it.
		c := Canonical(a, ro)
		if !ValidDomain(c.Domain, true) || strings.ContainsAny(c.Local+c.Domain, badBytes) {
			t.Fatalf("Canonical(%#v) = %#v", a, c)
		}
		if back, rest, err := (Options{Rcpt: true}).ParsePath("<"+c.String()+">", true); err != nil || back.Addr != c || rest != "" {
			t.Fatalf("Canonical(%#v) = %q parses back to %#v, %v", a, c.String(), back.Addr, err)
		}
		// With append_dot_mydomain Postfix is not idempotent either: "b."
		// is left alone, then loses its dot, and "b" would get .$mydomain.
		if again := Resolve(r, ro); again != r && !ro.AppendDotMyDomain {
			t.Fatalf("Resolve(%#v) = %#v, but Resolve of that = %#v", a, r, again)
		}
	})
}

// fuzzResolveOptions flips the resolver switches away from the defaults.
func fuzzResolveOptions(switches uint8) ResolveOptions {
	o := testResolveOptions()
	o.AllowPercentHack = switches&1 == 0
	o.SwapBangPath = switches&2 == 0
	o.ResolveDequotedAddress = switches&4 == 0
	o.ResolveNullDomain = switches&8 != 0
	o.AppendDotMyDomain = switches&16 != 0
	if switches&32 != 0 {
		o.MyOrigin = "example.test"
	}
	return o
}

// FuzzParseParams checks that parameter parsing never panics, that
// accepted parameters hold no control characters and re-parse to the same
// list, and that errors are well-formed replies.
func FuzzParseParams(f *testing.F) {
	f.Add("SIZE=10 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=a+2Bb", false)
	f.Add("NOTIFY=SUCCESS,DELAY ORCPT=rfc822;u+40x.example", true)
	f.Fuzz(func(t *testing.T, rest string, rcpt bool) {
		o := Options{Rcpt: rcpt}
		params, err := o.ParseParams(rest)
		if err != nil {
			checkError(t, err)
			return
		}
		var raws []string
		for _, p := range params {
			all := p.Raw + p.Keyword + p.Value + p.Decoded + p.AddrType
			if strings.ContainsFunc(all, isControl) || strings.ContainsAny(all, badBytes) {
				t.Fatalf("control character in %#v", p)
			}
			if p.Keyword == "" || p.Keyword != strings.ToUpper(p.Keyword) || p.Size < 0 {
				t.Fatalf("bad parameter %#v", p)
			}
			raws = append(raws, p.Raw)
		}
		again, err := o.ParseParams(strings.Join(raws, " "))
		if err != nil || formatParams(again) != formatParams(params) {
			t.Fatalf("re-parse of %q: %v, %v", raws, again, err)
		}
	})
}
