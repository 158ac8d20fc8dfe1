package dnstest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func testZone() Zone {
	return Zone{
		"example.org":        {MX(10, "mx.example.org"), MX(20, "mx2.example.org"), A("192.0.2.1"), TXT("v=spf1 -all")},
		"mx.example.org":     {A("192.0.2.25"), AAAA("2001:db8::25")},
		"WWW.Example.ORG.":   {CNAME("example.org")},
		"alias.example.org":  {CNAME("www.example.org")},
		"null.example":       {NullMX()},
		"empty.example":      {},
		"192.0.2.25":         {PTR("mx.example.org")},
		"2001:db8::25":       {PTR("mx.example.org")},
		"down.example":       {ServFail()},
		"half.example":       {ServFail(TypeMX), A("192.0.2.9")},
		"slow.example":       {Timeout()},
		"big.example":        {TXT(strings.Repeat("x", 1000), strings.Repeat("y", 1000))},
		"loop1.example":      {CNAME("loop2.example")},
		"loop2.example":      {CNAME("loop1.example")},
		"2.0.0.127.bl.test.": {A("127.0.0.2"), TXT("listed", " see ", "http://bl.test/")},
	}
}

func dnsErr(t *testing.T, err error) *net.DNSError {
	t.Helper()
	var de *net.DNSError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *net.DNSError", err, err)
	}
	return de
}

func TestLookups(t *testing.T) {
	s := Start(t, testZone())
	r := s.Resolver()
	ctx := context.Background()

	mx, err := r.LookupMX(ctx, "example.org.")
	if err != nil || len(mx) != 2 || mx[0].Host != "mx.example.org." || mx[0].Pref != 10 {
		t.Fatalf("MX example.org = %v, %v", mx, err)
	}
	mx, err = r.LookupMX(ctx, "null.example.")
	if err != nil || len(mx) != 1 || mx[0].Host != "." || mx[0].Pref != 0 {
		t.Fatalf("null MX = %v, %v", mx, err)
	}
	ips, err := r.LookupNetIP(ctx, "ip", "mx.example.org.")
	slices.SortFunc(ips, netip.Addr.Compare)
	if err != nil || len(ips) != 2 || ips[0] != netip.MustParseAddr("192.0.2.25") || ips[1] != netip.MustParseAddr("2001:db8::25") {
		t.Fatalf("addresses of mx.example.org = %v, %v", ips, err)
	}
	txt, err := r.LookupTXT(ctx, "example.org.")
	if err != nil || len(txt) != 1 || txt[0] != "v=spf1 -all" {
		t.Fatalf("TXT = %q, %v", txt, err)
	}
	// The character-strings of one record are joined by the client.
	txt, err = r.LookupTXT(ctx, "2.0.0.127.bl.test.")
	if err != nil || len(txt) != 1 || txt[0] != "listed see http://bl.test/" {
		t.Fatalf("TXT of several strings = %q, %v", txt, err)
	}
	for _, a := range []string{"192.0.2.25", "2001:db8::25"} {
		names, err := r.LookupAddr(ctx, a)
		if err != nil || len(names) != 1 || names[0] != "mx.example.org." {
			t.Fatalf("PTR %s = %v, %v", a, names, err)
		}
	}
	ips, err = r.LookupNetIP(ctx, "ip4", "alias.example.org.")
	if err != nil || len(ips) != 1 || ips[0] != netip.MustParseAddr("192.0.2.1") {
		t.Fatalf("A through CNAME chain = %v, %v", ips, err)
	}
	// Case-insensitive names; a type missing for one name, present for another.
	if ips, err := r.LookupNetIP(ctx, "ip4", "HALF.example."); err != nil || len(ips) != 1 {
		t.Fatalf("A of half.example = %v, %v", ips, err)
	}
}

func TestFailures(t *testing.T) {
	s := Start(t, testZone())
	s.QueryTimeout = 100 * time.Millisecond
	r := s.Resolver()
	ctx := context.Background()
	tests := []struct {
		name, host string
		lookup     func(string) error
		notFound   bool
		temporary  bool
		timeout    bool
	}{
		{"NXDOMAIN", "nowhere.example.", func(h string) error { _, err := r.LookupMX(ctx, h); return err }, true, false, false},
		{"NODATA", "empty.example.", func(h string) error { _, err := r.LookupMX(ctx, h); return err }, true, false, false},
		{"NODATA for a type", "mx.example.org.", func(h string) error { _, err := r.LookupTXT(ctx, h); return err }, true, false, false},
		{"SERVFAIL", "down.example.", func(h string) error { _, err := r.LookupMX(ctx, h); return err }, false, true, false},
		{"SERVFAIL for MX only", "half.example.", func(h string) error { _, err := r.LookupMX(ctx, h); return err }, false, true, false},
		{"no PTR", "192.0.2.26", func(h string) error { _, err := r.LookupAddr(ctx, h); return err }, true, false, false},
		{"CNAME loop", "loop1.example.", func(h string) error { _, err := r.LookupNetIP(ctx, "ip4", h); return err }, false, true, false},
		{"timeout", "slow.example.", func(h string) error { _, err := r.LookupMX(ctx, h); return err }, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := tt.lookup(tt.host)
			if err == nil {
				t.Fatal("lookup succeeded")
			}
			de := dnsErr(t, err)
			if de.IsNotFound != tt.notFound || de.IsTemporary != tt.temporary || de.IsTimeout != tt.timeout {
				t.Fatalf("%v: IsNotFound=%v IsTemporary=%v IsTimeout=%v, want %v %v %v",
					err, de.IsNotFound, de.IsTemporary, de.IsTimeout, tt.notFound, tt.temporary, tt.timeout)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

func TestTruncationFallsBackToTCP(t *testing.T) {
	s := Start(t, testZone())
	txt, err := s.Resolver().LookupTXT(context.Background(), "big.example.")
	if err != nil || len(txt) != 1 || len(txt[0]) != 2000 { // over the resolver's EDNS buffer
		t.Fatalf("big TXT = %d records, %v", len(txt), err)
	}
	var nets []string
	for _, q := range s.Queries() {
		if q.Name == "big.example" {
			nets = append(nets, q.Network)
		}
	}
	if !slices.Contains(nets, "udp") || !slices.Contains(nets, "tcp") {
		t.Fatalf("queries for big.example went over %v, want udp then tcp", nets)
	}
}

func TestSetAndDelete(t *testing.T) {
	s := Start(t, Zone{})
	r, ctx := s.Resolver(), context.Background()
	if _, err := r.LookupNetIP(ctx, "ip4", "host.example."); err == nil {
		t.Fatal("empty zone answered")
	}
	if err := s.Set("host.example", A("192.0.2.3")); err != nil {
		t.Fatal(err)
	}
	if ips, err := r.LookupNetIP(ctx, "ip4", "host.example."); err != nil || len(ips) != 1 {
		t.Fatalf("after Set: %v, %v", ips, err)
	}
	s.Delete("host.example.")
	if _, err := r.LookupNetIP(ctx, "ip4", "host.example."); err == nil || !dnsErr(t, err).IsNotFound {
		t.Fatalf("after Delete: %v", err)
	}
	if err := s.Set("bad.example", A("2001:db8::1")); err == nil {
		t.Fatal("Set accepted an IPv6 address in an A record")
	}
	if err := s.Set(strings.Repeat("a", 64)+".example", A("192.0.2.1")); err == nil {
		t.Fatal("Set accepted a 64-byte label")
	}
}

func TestNewRejectsBadRecords(t *testing.T) {
	for _, z := range []Zone{
		{"a.example": {A("not-an-address")}},
		{"a.example": {AAAA("192.0.2.1")}},
		{"a.example": {MX(10, "bad..name")}},
		{"a.example": {TXT()}},
		{"a.example": {{Type: 99}}},
	} {
		if s, err := New(z); err == nil {
			s.Close()
			t.Errorf("New(%v) succeeded", z)
		}
	}
}

func TestReverseName(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":        "7.2.0.192.in-addr.arpa",
		"::ffff:192.0.2.7": "7.2.0.192.in-addr.arpa",
		"2001:db8::1":      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	} {
		if got := ReverseName(netip.MustParseAddr(in)); got != want {
			t.Errorf("ReverseName(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestParseZone(t *testing.T) {
	z, err := ParseZone(`
# comment
example.org   MX 10 mx.example.org
example.org   A 192.0.2.1
null.example  MX 0 .
192.0.2.7     PTR mail.example.org
www.example   CNAME example.org
bl.example    TXT "blocked; see \"x\"" second
down.example  SERVFAIL
half.example  SERVFAIL MX aaaa
slow.example  TIMEOUT A
v6.example    AAAA 2001:db8::1
`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for name, recs := range z {
		for _, r := range recs {
			got[name] = append(got[name], r.String())
		}
	}
	want := map[string][]string{
		"example.org":  {"MX 10 mx.example.org", "A 192.0.2.1"},
		"null.example": {"MX 0 ."},
		"192.0.2.7":    {"PTR mail.example.org"},
		"www.example":  {"CNAME example.org"},
		"bl.example":   {`TXT "blocked; see \"x\"" "second"`},
		"down.example": {"SERVFAIL"},
		"half.example": {"SERVFAIL MX AAAA"},
		"slow.example": {"TIMEOUT A"},
		"v6.example":   {"AAAA 2001:db8::1"},
	}
	for name, w := range want {
		if !slices.Equal(got[name], w) {
			t.Errorf("%s: got %q, want %q", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got names %v", got)
	}
	for _, bad := range []string{
		"example.org", "example.org A", "example.org A 1.2.3", "example.org MX x mx",
		"example.org MX 10", "example.org FOO x", "example.org TXT", `example.org TXT "open`,
		"example.org SERVFAIL BOGUS", "example.org AAAA 192.0.2.1",
	} {
		if _, _, err := ParseRecord(bad); err == nil {
			t.Errorf("ParseRecord(%q) succeeded", bad)
		}
	}
}
