package smtp

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// route is what a lookup found for one destination.
type route struct {
	servers  []server // best preference first, equal preferences shuffled
	bestPref int      // preference of the best MX record
	iAmMX    bool     // this host is one of the MX hosts: try no fallback relay
}

// lookup finds the servers for a destination as smtp_domain_addr and
// smtp_host_addr do: MX records by preference (shuffled among equals), the
// host's own addresses when there is no MX, 5.1.0 for a null MX, and,
// on port 25, the list truncated before this host ("mail for X loops back
// to myself" when nothing better remains).
func (a *Agent) lookup(ctx context.Context, d destination) (route, *failure) {
	loopDetect := d.port == 25 && !a.cfg.LMTP
	if d.unix != "" {
		return route{servers: []server{{host: d.host, path: d.unix}}}, nil
	}
	if d.literal.IsValid() {
		if !a.cfg.Protocols.Allows(d.literal) {
			return route{}, fail("5.4.4", "%s: host not found", d.host)
		}
		r := route{servers: []server{{host: d.host, addr: d.literal, port: d.port}}}
		if loopDetect && a.isSelf(d.literal) {
			return r, a.loopFailure(d.host)
		}
		return r, nil
	}
	if !d.mx {
		return a.hostRoute(ctx, d, loopDetect)
	}
	mxs, err := a.cfg.Resolver.LookupMX(ctx, fqdn(d.host))
	if err != nil && len(mxs) == 0 {
		var de *net.DNSError
		switch {
		case errors.As(err, &de) && de.IsNotFound:
			return a.hostRoute(ctx, d, loopDetect)
		case ctx.Err() != nil:
			return route{}, fail("4.3.0", "delivery interrupted: %v", context.Cause(ctx))
		case errors.As(err, &de) && !de.IsTemporary && !de.IsTimeout:
			return route{}, fail("5.4.4", "%s", nameServiceError(d.host, "MX", "Malformed or unexpected name server reply"))
		}
		return route{}, fail("4.4.3", "%s", nameServiceError(d.host, "MX", "Host not found, try again"))
	}
	for _, mx := range mxs {
		if mx.Host == "." || mx.Host == "" {
			return route{}, fail("5.1.0", "Domain %s does not accept mail (nullMX)", d.host)
		}
	}
	slices.SortStableFunc(mxs, func(x, y *net.MX) int { return int(x.Pref) - int(y.Pref) })
	r := route{bestPref: int(mxs[0].Pref)}
	var soft, hard *failure
	for _, mx := range mxs {
		host := strings.TrimSuffix(mx.Host, ".")
		addrs, f := a.hostAddrs(ctx, host)
		switch {
		case f != nil && f.soft():
			soft = f
		case f != nil:
			hard = f
		}
		for _, ad := range addrs {
			r.servers = append(r.servers, server{host: host, addr: ad, port: d.port, pref: int(mx.Pref)})
		}
	}
	if len(r.servers) == 0 {
		// A soft error dominates hard ones: the better hosts may come back.
		if soft != nil {
			return r, soft
		}
		return r, hard
	}
	shuffleByPref(r.servers)
	if loopDetect {
		if i := slices.IndexFunc(r.servers, func(s server) bool { return a.isSelf(s.addr) }); i >= 0 {
			r.iAmMX = true
			self := r.servers[i].pref
			bestFound := r.servers[0].pref
			r.servers = slices.DeleteFunc(r.servers, func(s server) bool { return s.pref >= self })
			if len(r.servers) == 0 {
				if r.bestPref != bestFound {
					return r, fail("4.4.4", "unable to find primary relay for %s", d.host)
				}
				return r, a.loopFailure(d.host)
			}
		}
	}
	return r, nil
}

// hostRoute is the route to a host without MX lookup.
func (a *Agent) hostRoute(ctx context.Context, d destination, loopDetect bool) (route, *failure) {
	addrs, f := a.hostAddrs(ctx, d.host)
	if f != nil {
		return route{}, f
	}
	r := route{}
	for _, ad := range addrs {
		if loopDetect && a.isSelf(ad) {
			return route{}, a.loopFailure(d.host)
		}
		r.servers = append(r.servers, server{host: d.host, addr: ad, port: d.port})
	}
	shuffleByPref(r.servers)
	return r, nil
}

// hostAddrs looks up the addresses inet_protocols allows.
func (a *Agent) hostAddrs(ctx context.Context, host string) ([]netip.Addr, *failure) {
	network, qtype := "ip", "AAAA"
	switch p := a.cfg.Protocols; {
	case p.IPv4 && !p.IPv6:
		network, qtype = "ip4", "A"
	case p.IPv6 && !p.IPv4:
		network = "ip6"
	}
	name := fqdn(host)
	if a.cfg.LMTP {
		// LMTP servers are mostly this host's ("inet:localhost:24"):
		// resolve as the system does, /etc/hosts first.
		name = host
	}
	addrs, err := a.cfg.Resolver.LookupNetIP(ctx, network, name)
	var out []netip.Addr
	for _, ad := range addrs {
		if ad = ad.Unmap(); a.cfg.Protocols.Allows(ad) && !slices.Contains(out, ad) {
			out = append(out, ad)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	var de *net.DNSError
	switch {
	case ctx.Err() != nil:
		return nil, fail("4.3.0", "delivery interrupted: %v", context.Cause(ctx))
	case err == nil, errors.As(err, &de) && de.IsNotFound:
		return nil, fail("5.4.4", "%s", nameServiceError(host, qtype, "Host not found"))
	}
	return nil, fail("4.4.3", "%s", nameServiceError(host, qtype, "Host not found, try again"))
}

func nameServiceError(name, qtype, text string) string {
	return "Host or domain name not found. Name service error for name=" + name + " type=" + qtype + ": " + text
}

func (a *Agent) loopFailure(name string) *failure {
	f := fail("5.4.6", "mail for %s loops back to myself", name)
	f.loop = true
	return f
}

// isSelf reports whether addr is one of this host's (inet_interfaces or
// proxy_interfaces).
func (a *Agent) isSelf(addr netip.Addr) bool {
	addr = addr.Unmap()
	return slices.Contains(a.cfg.OwnAddrs, addr) || slices.Contains(a.cfg.ProxyAddrs, addr)
}

// shuffleByPref shuffles the list, then sorts it by preference, keeping
// the random order among equals (RFC 5321 section 5.1).
func shuffleByPref(s []server) {
	rand.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	slices.SortStableFunc(s, func(x, y server) int { return x.pref - y.pref })
}

// fqdn makes a name absolute so the resolver's search list is not applied.
func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}
