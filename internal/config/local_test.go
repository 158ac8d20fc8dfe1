package config

import (
	"context"
	"testing"

	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
)

func TestOwnAddressLiterals(t *testing.T) {
	c := New("/etc/postern", ParseMain("main.cf", "inet_interfaces = loopback-only\nproxy_interfaces = 198.51.100.7, mail.example.test\n"))
	c.Sys = inetaddrtest.Standard()
	own, err := c.OwnAddresses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]bool{
		"[127.0.0.1]":         true, // inet_interfaces
		"[127.0.0.1].":        true, // one trailing dot
		"[ipv6:::1]":          true,
		"[198.51.100.7]":      true,  // proxy_interfaces, never listened on
		"[192.0.2.10]":        true,  // proxy_interfaces by name
		"[2001:db8::10]":      false, // IPv6 needs the ipv6: tag
		"[ipv6:2001:db8::10]": true,
		"[192.0.2.99]":        false,
		"[127.0.0.1]..":       false,
		"127.0.0.1":           false,
		"[ipv6:127.0.0.1]":    false,
		"example.com":         false,
	}
	for d, want := range tests {
		if got := IsOwnAddressLiteral(d, own); got != want {
			t.Errorf("%s: got %v, want %v", d, got, want)
		}
	}
}
