package spf

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
)

// addrs looks up the client's address family of name.
func (e *eval) addrs(name string, countVoid bool) ([]netip.Addr, error) {
	network := "ip6"
	if e.ip.Is4() {
		network = "ip4"
	}
	return e.lookupIP(network, name, countVoid)
}

func (e *eval) lookupIP(network, name string, countVoid bool) ([]netip.Addr, error) {
	if !validDomain(name) {
		if countVoid {
			return nil, e.void()
		}
		return nil, nil
	}
	ctx, cancel := e.lookupCtx()
	defer cancel()
	addrs, err := e.resolver().LookupNetIP(ctx, network, name+".")
	if len(addrs) > 0 {
		return addrs, nil
	}
	if err != nil && !notFound(err) {
		return nil, tempErr("%s %s: %v", map[string]string{"ip4": "A", "ip6": "AAAA"}[network], name, err)
	}
	if countVoid {
		return nil, e.void()
	}
	return nil, nil
}

// validatedNames are the client's PTR names that resolve back to it
// (RFC 7208 section 5.5); lookup errors just drop names.
func (e *eval) validatedNames() []string {
	ctx, cancel := e.lookupCtx()
	names, _ := e.resolver().LookupAddr(ctx, e.ip.String())
	cancel()
	if len(names) > maxPTRs {
		names = names[:maxPTRs]
	}
	var out []string
	for _, n := range names {
		n = strings.TrimSuffix(n, ".")
		addrs, err := e.addrs(n, false)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == e.ip {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

func (e *eval) ptrMatches(target string) bool {
	for _, n := range e.validatedNames() {
		if subdomainOf(n, target) {
			return true
		}
	}
	return false
}

// validatedName is %{p}: a validated name equal to or under domain if
// any, else any validated name, else "unknown".
func (e *eval) validatedName(domain string) string {
	names := e.validatedNames()
	for _, n := range names {
		if subdomainOf(n, domain) {
			return n
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return "unknown"
}

func (e *eval) resolver() Resolver {
	if e.c.Resolver != nil {
		return e.c.Resolver
	}
	return net.DefaultResolver
}

func (e *eval) lookupCtx() (context.Context, context.CancelFunc) {
	t := e.c.LookupTimeout
	if t <= 0 {
		t = DefaultLookupTimeout
	}
	return context.WithTimeout(e.ctx, t)
}

// notFound reports an NXDOMAIN or no-data answer.
func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
