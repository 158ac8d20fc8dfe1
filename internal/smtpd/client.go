package smtpd

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"
)

// DNSLookupClient finds a client's names as Postfix does: the reverse
// (PTR) name, and the verified name — a PTR name whose forward lookup
// gives the client's address back; otherwise "unknown".
func DNSLookupClient(ctx context.Context, addr netip.Addr) (verified, reverse string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, addr.String())
	if err != nil || len(names) == 0 {
		return "unknown", ""
	}
	reverse = strings.TrimSuffix(names[0], ".")
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", reverse)
	if err != nil {
		return "unknown", reverse
	}
	for _, ip := range ips {
		if ip.Unmap() == addr.Unmap() {
			return reverse, reverse
		}
	}
	return "unknown", reverse
}
