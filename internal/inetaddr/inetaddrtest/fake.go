// Package inetaddrtest provides a fake host for tests: fixed interfaces
// and a fixed resolver, so results do not depend on the test machine.
package inetaddrtest

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/postern-mta/postern/internal/inetaddr"
)

// Host is a fake inetaddr.System.
type Host struct {
	Ifaces []inetaddr.IfAddr
	Names  map[string][]netip.Addr
}

// Addrs returns the fixed interface addresses.
func (h *Host) Addrs() ([]inetaddr.IfAddr, error) { return h.Ifaces, nil }

// LookupHost resolves from the fixed table.
func (h *Host) LookupHost(_ context.Context, name string) ([]netip.Addr, error) {
	if a, ok := h.Names[name]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("lookup %s: no such host", name)
}

// Standard is the host the spec's conformance cases use: lo with
// 127.0.0.1/8 and ::1/128, eth0 with 192.0.2.10/24 and 2001:db8::10/64.
func Standard() *Host {
	p := netip.MustParsePrefix
	return &Host{
		Ifaces: []inetaddr.IfAddr{
			{Iface: "lo", Prefix: p("127.0.0.1/8")},
			{Iface: "lo", Prefix: p("::1/128")},
			{Iface: "eth0", Prefix: p("192.0.2.10/24")},
			{Iface: "eth0", Prefix: p("2001:db8::10/64")},
		},
		Names: map[string][]netip.Addr{
			"localhost":         {netip.MustParseAddr("127.0.0.1")},
			"mail.example.test": {netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")},
			"eth0":              {netip.MustParseAddr("192.0.2.10")}, // a host name that is also an interface
			"far.example.test":  {netip.MustParseAddr("203.0.113.5")},
		},
	}
}

// WithEth1 is Standard plus eth1 with 198.51.100.10/24 and a link-local
// IPv6 address.
func WithEth1() *Host {
	h := Standard()
	h.Ifaces = append(h.Ifaces,
		inetaddr.IfAddr{Iface: "eth1", Prefix: netip.MustParsePrefix("198.51.100.10/24")},
		inetaddr.IfAddr{Iface: "eth1", Prefix: netip.MustParsePrefix("fe80::1/64"), Zone: "eth1"})
	return h
}
