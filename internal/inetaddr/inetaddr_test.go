package inetaddr_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/inetaddr"
	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
)

func addrs(as []inetaddr.IfAddr) string {
	var s []string
	for _, a := range as {
		s = append(s, a.Addr().String())
	}
	return strings.Join(s, " ")
}

func TestResolve(t *testing.T) {
	both := inetaddr.Protocols{IPv4: true, IPv6: true}
	v4 := inetaddr.Protocols{IPv4: true}
	tests := []struct {
		value   string
		protos  inetaddr.Protocols
		want    string
		wantErr string
	}{
		{"all", both, "127.0.0.1 192.0.2.10 ::1 2001:db8::10", ""},
		{"all", v4, "127.0.0.1 192.0.2.10", ""},
		{"loopback-only", both, "127.0.0.1 ::1", ""},
		{"loopback-only", v4, "127.0.0.1", ""},
		{"192.0.2.10, 127.0.0.1", both, "127.0.0.1 192.0.2.10", ""}, // sorted, as Postfix
		{"[::1] 127.0.0.1 127.0.0.1", both, "127.0.0.1 ::1", ""},    // brackets, duplicates
		{"2001:db8::10", both, "2001:db8::10", ""},
		{"localhost", both, "127.0.0.1", ""},
		{"127.0.0.2", both, "127.0.0.2", ""},          // inside lo's 127.0.0.0/8
		{"eth0", both, "192.0.2.10 2001:db8::10", ""}, // interface name wins over the host name
		{"eth0", v4, "192.0.2.10", ""},
		{"mail.example.test", v4, "192.0.2.10", ""},
		{"", both, "", ""},
		{"all", inetaddr.Protocols{}, "", ""},
		{"ALL", both, "", "host not found: ALL"},
		{"all, 127.0.0.1", both, "", "host not found: all"},
		{"[::1]", v4, "", "host not found: [::1]"},
		{"127.0.0.1/8", both, "", "host not found: 127.0.0.1/8"},
		{"203.0.113.5", both, "", "no local interface found for 203.0.113.5"},
		{"far.example.test", both, "", "no local interface found for 203.0.113.5"},
		{"eth9, nohost.invalid", both, "", "host not found: eth9\nhost not found: nohost.invalid"},
	}
	extra := []struct {
		value, want string
	}{
		{"eth1", "198.51.100.10"},   // link-local left out of an interface name
		{"fe80::1", "fe80::1%eth1"}, // but usable when listed, with its zone
		{"all", "127.0.0.1 192.0.2.10 198.51.100.10 ::1 2001:db8::10 fe80::1%eth1"},
	}
	for _, tt := range extra {
		got, err := inetaddr.Resolve(context.Background(), tt.value, both, inetaddrtest.WithEth1())
		if err != nil || addrs(got) != tt.want {
			t.Errorf("%s on WithEth1: got %q, %v; want %q", tt.value, addrs(got), err, tt.want)
		}
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.value, tt.protos), func(t *testing.T) {
			got, err := inetaddr.Resolve(context.Background(), tt.value, tt.protos, inetaddrtest.Standard())
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if addrs(got) != tt.want {
				t.Errorf("got %q, want %q", addrs(got), tt.want)
			}
		})
	}
}

func TestMynetworks(t *testing.T) {
	all, _ := inetaddr.Resolve(context.Background(), "all", inetaddr.Protocols{IPv4: true, IPv6: true}, inetaddrtest.Standard())
	// The spec's measurements on the same host [c18-c20].
	tests := map[string]string{
		"host":   "127.0.0.1/32 192.0.2.10/32 [::1]/128 [2001:db8::10]/128",
		"subnet": "127.0.0.0/8 192.0.2.0/24 [::1]/128 [2001:db8::]/64",
		"class":  "127.0.0.0/8 192.0.2.0/24 [::1]/128 [2001:db8::]/64",
	}
	for style, want := range tests {
		got, err := inetaddr.Mynetworks(all, style)
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", style, got, err, want)
		}
	}
	if _, err := inetaddr.Mynetworks(all, "Host"); err == nil {
		t.Error("style Host: no error")
	}
}

// Postfix 3.7's postconf on the same values (its fatal messages).
func TestParseMynetworksStyle(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"host", "host", ""},
		{"host host", "host", ""},
		{"subnet", "subnet", ""},
		{"class", "class", ""},
		{"Host", "", `unknown mynetworks mask style value "Host" in "Host"`},
		{"hosts", "", `unknown mynetworks mask style value "hosts" in "hosts"`},
		{"host, Subnet", "", `unknown mynetworks mask style value "Subnet" in "host, Subnet"`},
		{"host, subnet", "", "bad mynetworks_style value: host, subnet; specify exactly one value"},
		{"class,host", "", "bad mynetworks_style value: class,host; specify exactly one value"},
		{"", "", "bad mynetworks_style value: ; specify exactly one value"},
	} {
		got, err := inetaddr.ParseMynetworksStyle(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("%q: %q, %v; want %q, %s", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseProtocols(t *testing.T) {
	for in, want := range map[string]inetaddr.Protocols{
		"all": {IPv4: true, IPv6: true}, "ipv4": {IPv4: true}, "ipv6": {IPv6: true},
		"ipv4, ipv6": {IPv4: true, IPv6: true}, "": {},
	} {
		if got, err := inetaddr.ParseProtocols(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := inetaddr.ParseProtocols("IPv4"); err == nil || err.Error() != `unknown inet_protocols value "IPv4" in "IPv4"` {
		t.Errorf("IPv4: %v", err)
	}
}

// ParseMynetworksStyle never panics and yields one known style or an
// error.
func FuzzParseMynetworksStyle(f *testing.F) {
	for _, s := range []string{"host", "host host", "Host", "host, subnet", "", " class\t", "subnet,subnet,x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s, err := inetaddr.ParseMynetworksStyle(v)
		if err == nil && s != "host" && s != "subnet" && s != "class" {
			t.Errorf("%q: style %q without error", v, s)
		}
		if err != nil && s != "" {
			t.Errorf("%q: style %q with error %v", v, s, err)
		}
	})
}
