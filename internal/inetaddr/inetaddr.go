// Package inetaddr turns inet_protocols, inet_interfaces and
// proxy_interfaces into this host's own addresses, the way Postfix's
// own_inet_addr does, and derives the default mynetworks from them.
//
// It knows nothing of main.cf: callers pass the expanded values. The host's
// interfaces and resolver come through System so tests can supply their own.
package inetaddr

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Protocols is the parsed inet_protocols value.
type Protocols struct{ IPv4, IPv6 bool }

// ParseProtocols parses inet_protocols (case-sensitive, like Postfix).
func ParseProtocols(v string) (Protocols, error) {
	var p Protocols
	for _, f := range Fields(v) {
		switch f {
		case "all":
			p.IPv4, p.IPv6 = true, true
		case "ipv4":
			p.IPv4 = true
		case "ipv6":
			p.IPv6 = true
		default:
			return p, fmt.Errorf("unknown inet_protocols value %q in %q", f, v)
		}
	}
	return p, nil
}

// Allows reports whether addr's family is enabled.
func (p Protocols) Allows(a netip.Addr) bool {
	if a.Is4() || a.Is4In6() {
		return p.IPv4
	}
	return p.IPv6
}

// Fields splits a Postfix list value on commas and whitespace.
func Fields(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	})
}

// IfAddr is one address configured on an interface, with its network.
type IfAddr struct {
	Iface  string
	Prefix netip.Prefix // the address and its interface netmask
	// Zone is set for IPv6 link-local addresses, which cannot be bound
	// without it (netip.Prefix cannot carry a zone).
	Zone string
}

// Addr returns the address itself, with its zone if it has one.
func (a IfAddr) Addr() netip.Addr {
	if a.Zone != "" {
		return a.Prefix.Addr().WithZone(a.Zone)
	}
	return a.Prefix.Addr()
}

// System is the host's view of its interfaces and its resolver.
type System interface {
	// Addrs lists every interface address, in interface order.
	Addrs() ([]IfAddr, error)
	// LookupHost resolves a name to addresses (hosts file and DNS).
	LookupHost(ctx context.Context, name string) ([]netip.Addr, error)
}

// Host is the real system.
var Host System = hostSystem{}

type hostSystem struct{}

func (hostSystem) Addrs() ([]IfAddr, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []IfAddr
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w", ifc.Name, err)
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ones, _ := ipn.Mask.Size()
			ia := IfAddr{Iface: ifc.Name, Prefix: netip.PrefixFrom(ip.Unmap(), ones)}
			if ip.Is6() && ip.IsLinkLocalUnicast() {
				ia.Zone = ifc.Name
			}
			out = append(out, ia)
		}
	}
	return out, nil
}

func (hostSystem) LookupHost(ctx context.Context, name string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", name)
}

// sortAddrs orders IPv4 before IPv6, then by address, and drops duplicates.
func sortAddrs(as []IfAddr) []IfAddr {
	slices.SortStableFunc(as, func(a, b IfAddr) int {
		if a.Addr().Is4() != b.Addr().Is4() {
			if a.Addr().Is4() {
				return -1
			}
			return 1
		}
		return a.Addr().Compare(b.Addr())
	})
	return slices.CompactFunc(as, func(a, b IfAddr) bool { return a.Addr() == b.Addr() })
}
