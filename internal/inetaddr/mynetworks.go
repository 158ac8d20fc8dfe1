package inetaddr

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseMynetworksStyle parses a mynetworks_style value as Postfix does:
// each word must be host, subnet or class (case-sensitive), and the words
// must name exactly one style ("host host" is host). The errors are
// Postfix's fatal messages.
func ParseMynetworksStyle(v string) (string, error) {
	styles := map[string]bool{}
	for _, f := range Fields(v) {
		switch f {
		case "host", "subnet", "class":
			styles[f] = true
		default:
			return "", fmt.Errorf("unknown mynetworks mask style value %q in %q", f, v)
		}
	}
	if len(styles) != 1 {
		return "", fmt.Errorf("bad mynetworks_style value: %s; specify exactly one value", v)
	}
	for s := range styles {
		return s, nil
	}
	return "", nil
}

// Mynetworks computes Postfix's default mynetworks from the inet_interfaces
// addresses for a mynetworks_style value: host, subnet or class.
func Mynetworks(addrs []IfAddr, styleValue string) (string, error) {
	style, err := ParseMynetworksStyle(styleValue)
	if err != nil {
		return "", err
	}
	var nets []string
	seen := map[string]bool{}
	for _, a := range addrs {
		ip := a.Addr().WithZone("")
		var pfx netip.Prefix
		switch style {
		case "host":
			pfx = netip.PrefixFrom(ip, ip.BitLen())
		case "subnet":
			pfx = netip.PrefixFrom(ip, a.Prefix.Bits()).Masked()
		case "class":
			if ip.Is6() {
				pfx = netip.PrefixFrom(ip, a.Prefix.Bits()).Masked()
				break
			}
			bits, err := classBits(ip)
			if err != nil {
				return "", err
			}
			pfx = netip.PrefixFrom(ip, bits).Masked()
		}
		s := formatPrefix(pfx)
		if !seen[s] {
			seen[s] = true
			nets = append(nets, s)
		}
	}
	return strings.Join(nets, " "), nil
}

func classBits(ip netip.Addr) (int, error) {
	b := ip.As4()[0]
	switch {
	case b < 128:
		return 8, nil
	case b < 192:
		return 16, nil
	case b < 224:
		return 24, nil
	case b < 240:
		return 4, nil // class D (multicast)
	}
	return 0, fmt.Errorf("mynetworks: bad IP address class: %s", ip)
}

// formatPrefix writes IPv6 networks in brackets, as Postfix does.
func formatPrefix(p netip.Prefix) string {
	if p.Addr().Is6() {
		return fmt.Sprintf("[%s]/%d", p.Addr(), p.Bits())
	}
	return p.String()
}
