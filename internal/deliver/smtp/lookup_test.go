package smtp

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/inetaddr"
)

func TestLookup(t *testing.T) {
	dns := &fakeDNS{
		mx: map[string][]*net.MX{
			"example.net":    {mx(20, "backup.example.net"), mx(10, "mx1.example.net")},
			"null.example":   {{Host: ".", Pref: 0}},
			"self.example":   {mx(10, "me.example")},
			"selfbk.example": {mx(10, "mx1.example.net"), mx(20, "me.example")},
			"noprim.example": {mx(10, "gone.example"), mx(20, "me.example")},
			"noaddr.example": {mx(10, "gone.example")},
			"v6.example":     {mx(10, "v6host.example")},
		},
		addr: map[string][]netip.Addr{
			"mx1.example.net":    addrs("192.0.2.1"),
			"backup.example.net": addrs("192.0.2.2", "2001:db8::2"),
			"plain.example":      addrs("192.0.2.3"),
			"me.example":         addrs("198.51.100.1"),
			"v6host.example":     addrs("2001:db8::6"),
		},
		fail: map[string]bool{"servfail.example": true},
	}
	tests := []struct {
		site    string
		servers string // "host[addr]:port/pref ..." in order
		dsn     string
		reason  string
		v6      bool
		loop    bool
	}{
		{site: "example.net", servers: "mx1.example.net[192.0.2.1]:25/10 backup.example.net[192.0.2.2]:25/20"},
		{site: "example.net", v6: true, servers: "mx1.example.net[192.0.2.1]:25/10 backup.example.net[*]:25/20 backup.example.net[*]:25/20"},
		{site: "example.net:2525", servers: "mx1.example.net[192.0.2.1]:2525/10 backup.example.net[192.0.2.2]:2525/20"},
		{site: "plain.example", servers: "plain.example[192.0.2.3]:25/0"},
		{site: "[mx1.example.net]:587", servers: "mx1.example.net[192.0.2.1]:587/0"},
		{site: "[192.0.2.9]", servers: "192.0.2.9[192.0.2.9]:25/0"},
		{site: "null.example", dsn: "5.1.0", reason: "Domain null.example does not accept mail (nullMX)"},
		{site: "nxdomain.example", dsn: "5.4.4", reason: "Host or domain name not found. Name service error for name=nxdomain.example type=A: Host not found"},
		{site: "nxdomain.example", v6: true, dsn: "5.4.4", reason: "Host or domain name not found. Name service error for name=nxdomain.example type=AAAA: Host not found"},
		{site: "servfail.example", dsn: "4.4.3", reason: "Host or domain name not found. Name service error for name=servfail.example type=MX: Host not found, try again"},
		{site: "noaddr.example", dsn: "5.4.4", reason: "name=gone.example type=A: Host not found"},
		{site: "v6.example", dsn: "5.4.4", reason: "name=v6host.example type=A: Host not found"},
		{site: "v6.example", v6: true, servers: "v6host.example[2001:db8::6]:25/10"},
		{site: "self.example", dsn: "5.4.6", reason: "mail for self.example loops back to myself", loop: true},
		{site: "self.example:2525", servers: "me.example[198.51.100.1]:2525/10"},
		{site: "selfbk.example", servers: "mx1.example.net[192.0.2.1]:25/10"},
		{site: "noprim.example", dsn: "4.4.4", reason: "unable to find primary relay for noprim.example"},
		{site: "[me.example]", dsn: "5.4.6", reason: "mail for me.example loops back to myself", loop: true},
		{site: "[198.51.100.1]", dsn: "5.4.6", reason: "mail for 198.51.100.1 loops back to myself", loop: true},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.Resolver = dns
		cfg.Protocols = inetaddr.Protocols{IPv4: true, IPv6: tt.v6}
		cfg.OwnAddrs = addrs("198.51.100.1")
		a := &Agent{cfg: cfg.withDefaults()}
		d, err := parseDestination(tt.site, 25)
		if err != nil {
			t.Fatal(err)
		}
		rt, f := a.lookup(context.Background(), d)
		if tt.dsn != "" {
			if f == nil || f.dsn != tt.dsn || !strings.Contains(f.reason, tt.reason) || f.loop != tt.loop || f.relay != "none" {
				t.Errorf("%s: got %+v, want %s %q", tt.site, f, tt.dsn, tt.reason)
			}
			continue
		}
		if f != nil {
			t.Errorf("%s: %s %s", tt.site, f.dsn, f.reason)
			continue
		}
		var got []string
		for _, s := range rt.servers {
			e := s.namaddrport() + "/" + strconv.Itoa(s.pref)
			if strings.Contains(tt.servers, "[*]") && s.host == "backup.example.net" {
				e = s.host + "[*]:" + strconv.Itoa(s.port) + "/" + strconv.Itoa(s.pref)
			}
			got = append(got, e)
		}
		if strings.Join(got, " ") != tt.servers {
			t.Errorf("%s: got %q, want %q", tt.site, strings.Join(got, " "), tt.servers)
		}
	}
}

// Equal preferences come in random order, lower preferences first.
func TestLookupShufflesEqualPreferences(t *testing.T) {
	dns := &fakeDNS{
		mx:   map[string][]*net.MX{"example.net": {mx(10, "a.example"), mx(10, "b.example"), mx(5, "best.example")}},
		addr: map[string][]netip.Addr{"a.example": addrs("192.0.2.1"), "b.example": addrs("192.0.2.2"), "best.example": addrs("192.0.2.5")},
	}
	cfg := DefaultConfig()
	cfg.Resolver = dns
	a := &Agent{cfg: cfg.withDefaults()}
	d, _ := parseDestination("example.net", 25)
	second := map[string]int{}
	for range 200 {
		rt, f := a.lookup(context.Background(), d)
		if f != nil || len(rt.servers) != 3 || rt.servers[0].host != "best.example" || rt.bestPref != 5 {
			t.Fatalf("got %+v %v", rt, f)
		}
		second[rt.servers[1].host]++
	}
	if second["a.example"] < 40 || second["b.example"] < 40 {
		t.Errorf("equal preferences not shuffled: %v", second)
	}
}
