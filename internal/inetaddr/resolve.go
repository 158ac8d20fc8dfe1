package inetaddr

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Resolve returns the addresses that inet_interfaces names, each with its
// interface netmask. Keywords `all` and `loopback-only` must be the whole
// value. Elements are IP addresses (optionally in brackets), interface
// names (a postern extension; an interface name wins over a hostname), or
// hostnames resolved now. Every address must be configured locally.
func Resolve(ctx context.Context, value string, p Protocols, sys System) ([]IfAddr, error) {
	return ResolveFree(ctx, value, p, sys, false)
}

// ResolveFree is Resolve that, with freebind, also accepts addresses not
// configured on this host (to be bound with IP_FREEBIND before they are up).
func ResolveFree(ctx context.Context, value string, p Protocols, sys System, freebind bool) ([]IfAddr, error) {
	local, err := sys.Addrs()
	if err != nil {
		return nil, fmt.Errorf("could not list network interfaces: %w", err)
	}
	var enabled []IfAddr
	for _, a := range local {
		if p.Allows(a.Addr()) {
			enabled = append(enabled, a)
		}
	}
	if !p.IPv4 && !p.IPv6 {
		return nil, nil
	}
	switch strings.TrimSpace(value) {
	case "all":
		return byFamily(enabled), nil
	case "loopback-only":
		var out []IfAddr
		for _, a := range enabled {
			if a.Addr().IsLoopback() {
				out = append(out, a)
			}
		}
		return byFamily(out), nil
	}
	var out []IfAddr
	var errs []error
	for _, elem := range Fields(value) {
		addrs, err := resolveElem(ctx, elem, p, local, sys, freebind)
		if err != nil {
			errs = append(errs, err) // report every bad element, not the first
			continue
		}
		out = append(out, addrs...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return sortAddrs(out), nil
}

// byFamily keeps interface order but puts IPv4 before IPv6, as Postfix
// lists them (it reads the two families from separate kernel interfaces).
func byFamily(as []IfAddr) []IfAddr {
	var v4, v6 []IfAddr
	for _, a := range as {
		if a.Addr().Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	return append(v4, v6...)
}

func resolveElem(ctx context.Context, elem string, p Protocols, local []IfAddr, sys System, freebind bool) ([]IfAddr, error) {
	host := elem
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		if p.Allows(ip) {
			ips = []netip.Addr{ip.Unmap()}
		}
	} else if ifas := ifaceAddrs(local, host, p); len(ifas) > 0 {
		return ifas, nil
	} else if host == elem {
		found, _ := sys.LookupHost(ctx, host)
		for _, ip := range found {
			if ip = ip.Unmap(); p.Allows(ip) {
				ips = append(ips, ip)
			}
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("host not found: %s", elem)
	}
	var out []IfAddr
	for _, ip := range ips {
		a, ok := findLocal(local, ip)
		if !ok && freebind {
			a, ok = IfAddr{Prefix: netip.PrefixFrom(ip, ip.BitLen())}, true
		}
		if !ok {
			return nil, fmt.Errorf("no local interface found for %s", ip)
		}
		out = append(out, a)
	}
	return out, nil
}

// ifaceAddrs returns the enabled addresses of the interface called name,
// except IPv6 link-local ones: they need a zone, are refused while
// tentative, and are no place for SMTP (list one explicitly if wanted).
func ifaceAddrs(local []IfAddr, name string, p Protocols) []IfAddr {
	var out []IfAddr
	for _, a := range local {
		if a.Iface == name && p.Allows(a.Addr()) && !(a.Addr().Is6() && a.Addr().IsLinkLocalUnicast()) {
			out = append(out, a)
		}
	}
	return out
}

// IsInterface reports whether name is an interface on this host.
func IsInterface(sys System, name string) bool {
	local, err := sys.Addrs()
	if err != nil {
		return false
	}
	for _, a := range local {
		if a.Iface == name {
			return true
		}
	}
	return false
}

// findLocal finds ip among the interface addresses. Every address in a
// loopback interface's network is local too (Linux routes all of
// 127.0.0.0/8 to lo), so 127.0.0.2 can be listened on.
func findLocal(local []IfAddr, ip netip.Addr) (IfAddr, bool) {
	for _, a := range local {
		if a.Addr() == ip || a.Prefix.Addr() == ip.WithZone("") {
			return a, true
		}
	}
	for _, a := range local {
		if a.Addr().IsLoopback() && a.Prefix.Contains(ip.WithZone("")) {
			return IfAddr{Iface: a.Iface, Prefix: netip.PrefixFrom(ip, a.Prefix.Bits())}, true
		}
	}
	return IfAddr{}, false
}
