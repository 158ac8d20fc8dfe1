package smtpd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// ClientNames is what DNS says about a client, as Postfix's smtpd_peer.c
// finds it.
type ClientNames struct {
	// Verified is the PTR name whose forward lookup gives the client's
	// address back, or "unknown".
	Verified string
	// Reverse is the PTR name even if not confirmed, or "" when there is
	// none (or it is numeric or malformed).
	Reverse string
	// VerifiedTemp, ReverseTemp: the name is unknown only because a
	// lookup failed temporarily.
	VerifiedTemp, ReverseTemp bool
	// Warning is a line for the log ("hostname X does not resolve to
	// address Y"), or "".
	Warning string
}

// ClientLookup finds client names through Resolver (nil means
// net.DefaultResolver, which also reads /etc/hosts, as Postfix's
// getnameinfo and getaddrinfo calls do).
type ClientLookup struct {
	Resolver *net.Resolver
}

// DNSLookupClient finds a client's names with the default resolver.
func DNSLookupClient(ctx context.Context, addr netip.Addr) ClientNames {
	return ClientLookup{}.Lookup(ctx, addr)
}

// Lookup returns the client's reverse (PTR) name and the verified name:
// the PTR name if looking it up in the client's address family lists the
// client's address. A numeric or malformed PTR name counts as none.
func (l ClientLookup) Lookup(ctx context.Context, addr netip.Addr) ClientNames {
	r := l.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	addr = addr.Unmap()
	unknown := ClientNames{Verified: "unknown"}
	names, err := r.LookupAddr(ctx, addr.String())
	if err != nil || len(names) == 0 {
		temp := temporary(err)
		unknown.VerifiedTemp, unknown.ReverseTemp = temp, temp
		return unknown
	}
	name := strings.TrimSuffix(names[0], ".")
	if _, err := netip.ParseAddr(name); err == nil || !validHostname(name) {
		return unknown
	}
	n := ClientNames{Verified: "unknown", Reverse: name}
	network := "ip4"
	if addr.Is6() {
		network = "ip6"
	}
	ips, err := r.LookupNetIP(ctx, network, name) // as getaddrinfo: /etc/hosts, which Go matches only without the root dot
	if err != nil {
		n.VerifiedTemp = temporary(err)
		why := "Name or service not known"
		if n.VerifiedTemp {
			why = "Temporary failure in name resolution"
		}
		n.Warning = fmt.Sprintf("hostname %s does not resolve to address %s: %s", name, addr, why)
		return n
	}
	for _, ip := range ips {
		if ip.Unmap() == addr {
			n.Verified = name
			return n
		}
	}
	n.Warning = fmt.Sprintf("hostname %s does not resolve to address %s", name, addr)
	return n
}

// temporary reports a lookup error that may go away (SERVFAIL, timeout).
func temporary(err error) bool {
	var de *net.DNSError
	if errors.As(err, &de) {
		return !de.IsNotFound && (de.IsTemporary || de.IsTimeout)
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// validHostname is Postfix's valid_hostname(): dot-separated labels of
// letters, digits, '-' and '_', not starting or ending with '-', at most
// 63 bytes each and 255 in all.
func validHostname(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z') {
				return false
			}
		}
	}
	return true
}
