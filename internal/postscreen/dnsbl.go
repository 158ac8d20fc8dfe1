package postscreen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// Site is one postscreen_dnsbl_sites entry: domain[=filter][*weight].
type Site struct {
	Domain string
	Filter [4][]octetRange // nil: any 127.x answer counts
	Weight int
	Spec   string
}

type octetRange struct{ lo, hi int }

// ParseSites reads postscreen_dnsbl_sites' entries.
func ParseSites(list []string) ([]Site, error) {
	var out []Site
	for _, e := range list {
		s, err := parseSite(e)
		if err != nil {
			return nil, fmt.Errorf("postscreen_dnsbl_sites: %q: %w", e, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSite(e string) (Site, error) {
	s := Site{Weight: 1, Spec: e}
	rest := e
	if i := strings.LastIndexByte(rest, '*'); i >= 0 {
		w, err := strconv.Atoi(rest[i+1:])
		if err != nil {
			return s, fmt.Errorf("bad weight %q", rest[i+1:])
		}
		s.Weight, rest = w, rest[:i]
	}
	dom, filter, hasFilter := strings.Cut(rest, "=")
	dom = strings.TrimSuffix(strings.ToLower(dom), ".")
	if dom == "" || strings.ContainsAny(dom, " \t[]") || !strings.Contains(dom, ".") {
		return s, fmt.Errorf("bad domain %q", dom)
	}
	s.Domain = dom
	if !hasFilter {
		return s, nil
	}
	var f [4][]octetRange
	parts := splitOctets(filter)
	if len(parts) != 4 {
		return s, fmt.Errorf("filter %q is not four octets", filter)
	}
	for i, p := range parts {
		body := p
		if strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]") {
			body = p[1 : len(p)-1]
		} else if strings.ContainsAny(p, ";.[]") {
			return s, fmt.Errorf("bad filter octet %q", p)
		}
		for _, item := range strings.Split(body, ";") {
			lo, hi, isRange := strings.Cut(item, "..")
			if !isRange {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 != nil || err2 != nil || a < 0 || b > 255 || a > b {
				return s, fmt.Errorf("bad filter octet %q", p)
			}
			f[i] = append(f[i], octetRange{a, b})
		}
	}
	s.Filter = f
	return s, nil
}

// splitOctets splits a filter at the dots outside brackets.
func splitOctets(f string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				out = append(out, f[start:i])
				start = i + 1
			}
		}
	}
	return append(out, f[start:])
}

// matches reports whether a reply address counts for the site.
func (s *Site) matches(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	if s.Filter[0] == nil {
		return b[0] == 127
	}
	for i, rs := range s.Filter {
		ok := false
		for _, r := range rs {
			if int(b[i]) >= r.lo && int(b[i]) <= r.hi {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// query is the DNSBL name for addr under domain: reversed octets, or
// reversed nibbles for IPv6.
func query(addr netip.Addr, domain string) string {
	var parts []string
	if addr.Is4() {
		b := addr.As4()
		for i := 3; i >= 0; i-- {
			parts = append(parts, strconv.Itoa(int(b[i])))
		}
	} else {
		b := addr.As16()
		for i := 15; i >= 0; i-- {
			parts = append(parts, fmt.Sprintf("%x.%x", b[i]&0xf, b[i]>>4))
		}
	}
	return strings.Join(parts, ".") + "." + domain + "."
}

// score looks addr up in every site at once and returns the summed
// weight of the sites that list it, and the listing site of the highest
// weight (named in the reject reply). A lookup that fails counts as
// not listed, with a warning.
func (s *session) score(ctx context.Context, addr netip.Addr) (int, string) {
	sites := s.Config.DNSBLSites
	weights := make([]int, len(sites))
	var wg sync.WaitGroup
	for i := range sites {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ips, err := s.resolver().LookupNetIP(ctx, "ip4", query(addr, sites[i].Domain))
			var de *net.DNSError
			if err != nil {
				if !errors.As(err, &de) || !de.IsNotFound {
					s.Log.Warn(fmt.Sprintf("dnsblog_query: lookup error for DNS query %s: %v", query(addr, sites[i].Domain), err))
				}
				return
			}
			for _, ip := range ips {
				if sites[i].matches(ip.Unmap()) {
					weights[i] = sites[i].Weight
					return
				}
			}
		}(i)
	}
	wg.Wait()
	total, best, bestW := 0, "", 0
	for i, w := range weights {
		total += w
		if w > bestW {
			best, bestW = sites[i].Domain, w
		}
	}
	return total, best
}

func (s *session) resolver() *net.Resolver {
	if s.Resolver != nil {
		return s.Resolver
	}
	return net.DefaultResolver
}
