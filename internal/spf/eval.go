package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Limits of RFC 7208 section 4.6.4.
const (
	maxLookups = 10 // include, a, mx, ptr, exists, redirect
	maxVoid    = 2  // lookups answering NXDOMAIN or no data
	maxMXNames = 10
	maxPTRs    = 10
)

// eval is the state of one check_host evaluation across recursion.
type eval struct {
	c                           *Checker
	ctx                         context.Context
	ip                          netip.Addr
	sender, local, senderDomain string
	helo                        string
	lookups, voids              int
}

// hostResult is what check_host returns.
type hostResult struct {
	result  Result
	mech    string
	exp     string
	problem string
}

// errPerm and errTemp end an evaluation with permerror or temperror.
type evalError struct {
	result Result
	msg    string
}

func (e *evalError) Error() string { return e.msg }

func permErr(format string, a ...any) error {
	return &evalError{PermError, fmt.Sprintf(format, a...)}
}
func tempErr(format string, a ...any) error {
	return &evalError{TempError, fmt.Sprintf(format, a...)}
}

func failed(err error) hostResult {
	var ee *evalError
	if errors.As(err, &ee) {
		return hostResult{result: ee.result, problem: ee.msg}
	}
	return hostResult{result: TempError, problem: err.Error()}
}

// checkHost is RFC 7208 section 4; useExp is false inside include.
func (e *eval) checkHost(domain string, useExp bool) hostResult {
	domain = strings.TrimSuffix(domain, ".")
	if !validDomain(domain) {
		return hostResult{result: None, problem: "not a domain name: " + domain}
	}
	txt, err := e.record(domain)
	if err != nil {
		return failed(err)
	}
	if txt == "" {
		return hostResult{result: None, problem: "no SPF record at " + domain}
	}
	rec, err := parseRecord(txt)
	if err != nil {
		return hostResult{result: PermError, problem: domain + ": " + err.Error()}
	}
	for _, m := range rec.mechs {
		match, err := e.match(m, domain)
		if err != nil {
			return failed(err)
		}
		if !match {
			continue
		}
		r := hostResult{result: m.qual, mech: m.text}
		if m.qual == Fail && useExp && rec.exp != nil {
			r.exp = e.explain(rec.exp, domain)
		}
		return r
	}
	if rec.redirect == nil {
		return hostResult{result: Neutral, mech: "default"}
	}
	if err := e.count(); err != nil {
		return failed(err)
	}
	target := e.target(rec.redirect, domain)
	r := e.checkHost(target, useExp)
	if r.result == None {
		return hostResult{result: PermError, problem: "redirect=" + target + ": " + r.problem}
	}
	return r
}

// record fetches the one SPF record of domain; "" when there is none.
func (e *eval) record(domain string) (string, error) {
	ctx, cancel := e.lookupCtx()
	defer cancel()
	txts, err := e.resolver().LookupTXT(ctx, domain+".")
	if err != nil {
		if notFound(err) {
			return "", nil
		}
		return "", tempErr("TXT %s: %v", domain, err)
	}
	var found []string
	for _, t := range txts {
		if isSPF(t) {
			found = append(found, t)
		}
	}
	if len(found) > 1 {
		return "", permErr("%s has %d SPF records", domain, len(found))
	}
	if len(found) == 0 {
		return "", nil
	}
	return found[0], nil
}

// match evaluates one mechanism.
func (e *eval) match(m mechanism, domain string) (bool, error) {
	switch m.name {
	case "all":
		return true, nil
	case "ip4", "ip6":
		return m.prefix.Contains(e.ip), nil
	}
	if err := e.count(); err != nil {
		return false, err
	}
	target := domain
	if m.domain != nil {
		target = e.target(m.domain, domain)
	}
	switch m.name {
	case "include":
		r := e.checkHost(target, false)
		switch r.result {
		case Pass:
			return true, nil
		case TempError:
			return false, tempErr("include:%s: %s", target, r.problem)
		case PermError, None:
			return false, permErr("include:%s: %s %s", target, r.result, r.problem)
		}
		return false, nil
	case "a":
		addrs, err := e.addrs(target, true)
		return e.contains(addrs, m), err
	case "mx":
		return e.matchMX(target, m)
	case "ptr":
		return e.ptrMatches(target), nil
	case "exists":
		addrs, err := e.lookupIP("ip4", target, true)
		return len(addrs) > 0, err
	}
	return false, permErr("unknown mechanism %s", m.name)
}

func (e *eval) count() error {
	e.lookups++
	if e.lookups > maxLookups {
		return permErr("more than %d DNS lookups", maxLookups)
	}
	return nil
}

// void counts a lookup without answers; the third is a permerror.
func (e *eval) void() error {
	e.voids++
	if e.voids > maxVoid {
		return permErr("more than %d void lookups", maxVoid)
	}
	return nil
}

func (e *eval) contains(addrs []netip.Addr, m mechanism) bool {
	for _, a := range addrs {
		a = a.Unmap()
		bits := m.cidr4
		if a.Is6() {
			bits = m.cidr6
		}
		if bits < 0 {
			bits = a.BitLen()
		}
		if p, err := a.Prefix(bits); err == nil && p.Contains(e.ip) {
			return true
		}
	}
	return false
}

func (e *eval) matchMX(target string, m mechanism) (bool, error) {
	ctx, cancel := e.lookupCtx()
	mxs, err := e.resolver().LookupMX(ctx, target+".")
	cancel()
	var names []string
	for _, mx := range mxs {
		if h := strings.TrimSuffix(mx.Host, "."); h != "" {
			names = append(names, h)
		}
	}
	if len(names) == 0 {
		if err != nil && !notFound(err) {
			return false, tempErr("MX %s: %v", target, err)
		}
		return false, e.void()
	}
	if len(names) > maxMXNames {
		return false, permErr("MX %s: more than %d names", target, maxMXNames)
	}
	for _, n := range names {
		addrs, err := e.addrs(n, false)
		if err != nil {
			return false, err
		}
		if e.contains(addrs, m) {
			return true, nil
		}
	}
	return false, nil
}

func subdomainOf(name, domain string) bool {
	name, domain = strings.ToLower(name), strings.ToLower(strings.TrimSuffix(domain, "."))
	return name == domain || strings.HasSuffix(name, "."+domain)
}

// target expands a domain-spec and truncates it to 253 octets by
// dropping labels from the left (RFC 7208 section 7.3).
func (e *eval) target(m *macroString, domain string) string {
	t := strings.TrimSuffix(e.expand(m, domain), ".")
	for len(t) > 253 {
		i := strings.IndexByte(t, '.')
		if i < 0 {
			break
		}
		t = t[i+1:]
	}
	return t
}

// explain evaluates exp= (RFC 7208 section 6.2); any problem means no
// explanation, never an error.
func (e *eval) explain(m *macroString, domain string) string {
	target := e.target(m, domain)
	if !validDomain(target) {
		return ""
	}
	ctx, cancel := e.lookupCtx()
	defer cancel()
	txts, err := e.resolver().LookupTXT(ctx, target+".")
	if err != nil || len(txts) != 1 {
		return ""
	}
	ms, err := parseMacro(txts[0], true)
	if err != nil {
		return ""
	}
	return e.expand(ms, domain)
}

// dotIP is %{i}: dotted quad, or dotted nibbles for IPv6.
func dotIP(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	b := a.As16()
	var s strings.Builder
	for i, o := range b {
		if i > 0 {
			s.WriteByte('.')
		}
		fmt.Fprintf(&s, "%x.%x", o>>4, o&0xf)
	}
	return s.String()
}
