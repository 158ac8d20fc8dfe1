package spf

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// fakeResolver is a map-based Resolver; a name in fail answers with that
// error, hang blocks until the context ends.
type fakeResolver struct {
	txt   map[string][]string
	ips   map[string][]netip.Addr
	fail  map[string]error
	hang  bool
	calls int
}

func (r *fakeResolver) answer(ctx context.Context, name string) error {
	r.calls++
	if r.hang {
		<-ctx.Done()
		return &net.DNSError{Err: ctx.Err().Error(), Name: name, IsTimeout: true}
	}
	if err := r.fail[name]; err != nil {
		return err
	}
	return nil
}

func notFoundErr(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *fakeResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := r.answer(ctx, name); err != nil {
		return nil, err
	}
	if t, ok := r.txt[strings.ToLower(name)]; ok {
		return t, nil
	}
	return nil, notFoundErr(name)
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, _, name string) ([]netip.Addr, error) {
	if err := r.answer(ctx, name); err != nil {
		return nil, err
	}
	if a, ok := r.ips[strings.ToLower(name)]; ok {
		return a, nil
	}
	return nil, notFoundErr(name)
}

func (r *fakeResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if err := r.answer(ctx, name); err != nil {
		return nil, err
	}
	return nil, notFoundErr(name)
}

func (r *fakeResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	if err := r.answer(ctx, addr); err != nil {
		return nil, err
	}
	return nil, notFoundErr(addr)
}

var client = netip.MustParseAddr("192.0.2.1")

// TestDNSErrorsAreTemporary: a failing or hanging resolver gives
// temperror, never fail, and the deadline ends the wait.
func TestDNSErrorsAreTemporary(t *testing.T) {
	rec := map[string][]string{"example.com.": {"v=spf1 a:a.example.com -all"}}
	for _, tc := range []struct {
		name string
		r    *fakeResolver
	}{
		{"refused", &fakeResolver{txt: rec, fail: map[string]error{"a.example.com.": &net.DNSError{Err: "server misbehaving", IsTemporary: true}}}},
		{"other error", &fakeResolver{txt: rec, fail: map[string]error{"a.example.com.": errors.New("connection refused")}}},
		{"txt error", &fakeResolver{fail: map[string]error{"example.com.": &net.DNSError{Err: "bad", Name: "example.com"}}}},
		{"hang", &fakeResolver{hang: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Checker{Resolver: tc.r, LookupTimeout: 20 * time.Millisecond}
			o := c.CheckMailFrom(context.Background(), client, "mail.example.com", "a@example.com")
			if o.Result != TempError || o.Problem == "" {
				t.Fatalf("got %+v, want temperror with a problem", o)
			}
		})
	}
}

// TestOverallDeadline: Timeout bounds the whole evaluation even when each
// lookup would be allowed longer.
func TestOverallDeadline(t *testing.T) {
	c := &Checker{Resolver: &fakeResolver{hang: true}, Timeout: 30 * time.Millisecond, LookupTimeout: time.Hour}
	done := make(chan Outcome, 1)
	go func() { done <- c.CheckHelo(context.Background(), client, "mail.example.com") }()
	if o := <-done; o.Result != TempError {
		t.Fatalf("got %+v, want temperror", o)
	}
}

// TestOutcomeFields: the fields Received-SPF and Authentication-Results
// will report.
func TestOutcomeFields(t *testing.T) {
	r := &fakeResolver{txt: map[string][]string{"example.com.": {"v=spf1 include:_spf.example.com -all"},
		"_spf.example.com.": {"v=spf1 ip4:192.0.2.0/28 -all"}}}
	o := (&Checker{Resolver: r}).CheckMailFrom(context.Background(), client, "mail.example.net", "User@Example.com")
	want := Outcome{Result: Pass, Identity: "mailfrom", ClientIP: client, Helo: "mail.example.net", Sender: "User@Example.com", Domain: "Example.com",
		Mechanism: "include:_spf.example.com", Lookups: 1}
	if o != want {
		t.Fatalf("got %+v\nwant %+v", o, want)
	}
	o = (&Checker{Resolver: r}).CheckHelo(context.Background(), client, "example.com")
	if o.Identity != "helo" || o.Sender != "postmaster@example.com" || o.Result != Pass {
		t.Fatalf("helo: %+v", o)
	}
}

func TestParseErrors(t *testing.T) {
	for _, rec := range []string{"v=spf1 ip4:192.0.2.1/33", "v=spf1 ip4:2001:db8::1", "v=spf1 ip6:192.0.2.1",
		"v=spf1 a/", "v=spf1 a//", "v=spf1 a/-1", "v=spf1 a/+8", "v=spf1 mx:", "v=spf1 ptr:%{z}", "v=spf1 exists:%",
		"v=spf1 include:example.com/24", "v=spf1 exp=a.example exp=b.example", "v=spf1 redirect=", "v=spf1 +-all",
		"v=spf1 ?", "v=spf1 x=%{", "v=spf1 a:example.com:80", "v=spf1 ip4:192.0.2.1%eth0", "v=spf1 a:ex\x01ample.com"} {
		if _, err := parseRecord(rec); err == nil {
			t.Errorf("%q: parsed", rec)
		}
	}
	for _, rec := range []string{"v=spf1", "v=spf1  -all  ", "V=SPF1 +ALL", "v=spf1 a:%{d}", "v=spf1 mx:example.com./24//0",
		"v=spf1 unknown-mod=%{l}x", "v=spf1 ip6:::/0 ip4:0.0.0.0/0", "v=spf1 ptr:example.com. ?all",
		"v=spf1 a:%{l/}.example.com", "v=spf1 mx:%{l//}.example.com/24//64"} {
		if _, err := parseRecord(rec); err != nil {
			t.Errorf("%q: %v", rec, err)
		}
	}
}

func TestMacroExpansion(t *testing.T) {
	// The examples of RFC 7208 section 7.4.
	e := &eval{c: &Checker{}, ip: netip.MustParseAddr("192.0.2.3"), sender: "strong-bad@email.example.com",
		local: "strong-bad", senderDomain: "email.example.com", helo: "mx.example.org"}
	e6 := *e
	e6.ip = netip.MustParseAddr("2001:db8::cb01")
	for _, tc := range []struct {
		e          *eval
		macro, out string
	}{
		{e, "%{s}", "strong-bad@email.example.com"},
		{e, "%{o}", "email.example.com"},
		{e, "%{d}", "email.example.com"},
		{e, "%{d4}", "email.example.com"},
		{e, "%{d3}", "email.example.com"},
		{e, "%{d2}", "example.com"},
		{e, "%{d1}", "com"},
		{e, "%{dr}", "com.example.email"},
		{e, "%{d2r}", "example.email"},
		{e, "%{l}", "strong-bad"},
		{e, "%{l-}", "strong.bad"},
		{e, "%{lr}", "strong-bad"},
		{e, "%{lr-}", "bad.strong"},
		{e, "%{l1r-}", "strong"},
		{e, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{e, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{e, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{e, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{e, "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{&e6, "%{ir}.%{v}._spf.%{d2}", "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"},
		{e, "%{S}", "strong-bad%40email.example.com"},
		{e, "%{h}%_%%%-", "mx.example.org %%20"},
	} {
		m, err := parseMacro(tc.macro, false)
		if err != nil {
			t.Errorf("%s: %v", tc.macro, err)
			continue
		}
		if got := tc.e.expand(m, "email.example.com"); got != tc.out {
			t.Errorf("%s = %q, want %q", tc.macro, got, tc.out)
		}
	}
}

// TestTruncation: an expanded name over 253 octets loses labels on the
// left (RFC 7208 section 7.3).
func TestTruncation(t *testing.T) {
	long := strings.Repeat("a", 60)
	e := &eval{c: &Checker{}, ip: client, local: strings.Join([]string{long, long, long, long, long}, ".")}
	m, _ := parseMacro("%{l}.example.com", false)
	got := e.target(m, "example.com")
	if len(got) > 253 || !strings.HasSuffix(got, ".example.com") || strings.Count(got, long) != 3 {
		t.Fatalf("target %q (%d octets)", got, len(got))
	}
}
