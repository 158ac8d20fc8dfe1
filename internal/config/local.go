package config

import (
	"context"
	"net/netip"
	"strings"
)

// OwnAddresses are the addresses this server answers to: inet_interfaces
// (as for `all`: every interface address) and proxy_interfaces. They make
// user@[addr] local, and a destination MX among them a mail loop.
func (c *Config) OwnAddresses(ctx context.Context) ([]netip.Addr, error) {
	own, err := c.InetAddrs(ctx)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range own {
		out = append(out, a.Addr().WithZone(""))
	}
	proxy, err := c.List("proxy_interfaces")
	if err != nil {
		return nil, err
	}
	p, err := c.Protocols()
	if err != nil {
		return nil, err
	}
	for _, h := range proxy {
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if a, err := netip.ParseAddr(h); err == nil {
			out = append(out, a.Unmap())
			continue
		}
		addrs, err := c.Sys.LookupHost(ctx, h)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			if a = a.Unmap(); p.Allows(a) {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// IsOwnAddressLiteral reports whether a domain is an address literal —
// [192.0.2.1] or [ipv6:2001:db8::1], one trailing dot allowed — naming one
// of this server's own addresses, which Postfix treats as a local domain.
func IsOwnAddressLiteral(domain string, own []netip.Addr) bool {
	d := strings.TrimSuffix(domain, ".")
	if !strings.HasPrefix(d, "[") || !strings.HasSuffix(d, "]") {
		return false
	}
	lit := d[1 : len(d)-1]
	v6 := false
	if len(lit) > 5 && strings.EqualFold(lit[:5], "ipv6:") {
		lit, v6 = lit[5:], true
	}
	a, err := netip.ParseAddr(lit)
	if err != nil || a.Zone() != "" || a.Is6() != v6 {
		return false
	}
	for _, o := range own {
		if o == a {
			return true
		}
	}
	return false
}
