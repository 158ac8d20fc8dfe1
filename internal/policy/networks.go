package policy

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
)

// Table is a lookup table.
type Table = maps.Table

// TableOpener opens "type:name" tables; results are cached by the Policy.
type TableOpener func(spec string) (Table, error)

// matchList is a Postfix match list (mynetworks, mydestination,
// relay_domains): addresses/networks or domain names, /file, type:table,
// and !negation; the first match decides. A bad entry makes every lookup
// that reaches it fail, as smtpd does ("451 4.3.0 Temporary lookup
// failure"), rather than silently matching or not.
type matchList struct {
	name    string
	entries []matchEntry
	parent  bool // parent_domain_matches_subdomains includes this list
}

type matchEntry struct {
	negate bool
	prefix netip.Prefix // an address or network
	domain string       // a domain name (lower case)
	table  string       // type:table
	bad    error
}

func newMatchList(cfg *config.Config, param string) (*matchList, error) {
	values, err := cfg.List(param)
	if err != nil {
		return nil, err
	}
	parents, _ := cfg.List("parent_domain_matches_subdomains")
	ml := &matchList{name: param}
	for _, p := range parents {
		ml.parent = ml.parent || p == param
	}
	for _, v := range values {
		ml.add(v)
	}
	return ml, nil
}

func (ml *matchList) add(v string) {
	e := matchEntry{}
	if strings.HasPrefix(v, "!") {
		e.negate, v = true, v[1:]
	}
	switch {
	case strings.HasPrefix(v, "/"):
		data, err := os.ReadFile(v)
		if err != nil {
			ml.entries = append(ml.entries, matchEntry{bad: fmt.Errorf("%s: %v", ml.name, err)})
			return
		}
		for _, line := range strings.Split(string(data), "\n") {
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			for _, f := range config.Fields(line) {
				ml.add(f)
			}
		}
		return
	case strings.HasPrefix(v, "["):
		s := strings.NewReplacer("[", "", "]", "").Replace(v)
		e.prefix, e.bad = parseNet(s)
	case strings.Contains(v, ":") && !strings.HasPrefix(v, "["):
		if _, err := netip.ParseAddr(strings.SplitN(v, "/", 2)[0]); err == nil {
			e.bad = fmt.Errorf("%s: IPv6 network %q must be written in brackets", ml.name, v)
		} else {
			e.table = v
		}
	default:
		if p, err := parseNet(v); err == nil {
			e.prefix = p
		} else if strings.Contains(v, "/") {
			e.bad = fmt.Errorf("%s: %v", ml.name, err)
		} else {
			e.domain = strings.ToLower(strings.TrimSuffix(v, "."))
		}
	}
	ml.entries = append(ml.entries, e)
}

// parseNet parses an address or CIDR; host bits set is an error, as in
// Postfix ("non-null host address bits").
func parseNet(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, err
	}
	if p.Masked() != p {
		return p, fmt.Errorf("non-null host address bits in %q, perhaps you should use %q instead", s, p.Masked())
	}
	return p, nil
}

// matchClient matches a client address and (verified) name.
func (ml *matchList) matchClient(addr netip.Addr, name string, open TableOpener) (bool, error) {
	addr = addr.Unmap().WithZone("")
	for _, e := range ml.entries {
		var hit bool
		var err error
		switch {
		case e.bad != nil:
			return false, e.bad
		case e.prefix.IsValid():
			hit = e.prefix.Contains(addr)
		case e.table != "":
			hit, err = tableHas(open, e.table, addr.String(), name)
		case e.domain != "" && name != "" && name != "unknown":
			hit = ml.domainMatch(e.domain, name)
		}
		if err != nil {
			return false, err
		}
		if hit {
			return !e.negate, nil
		}
	}
	return false, nil
}

// matchDomain matches a domain name (mydestination, relay_domains).
func (ml *matchList) matchDomain(domain string, open TableOpener) (bool, error) {
	domain = strings.ToLower(domain)
	for _, e := range ml.entries {
		var hit bool
		var err error
		switch {
		case e.bad != nil:
			return false, e.bad
		case e.table != "":
			hit, err = tableHas(open, e.table, domain)
		case e.domain != "":
			hit = ml.domainMatch(e.domain, domain)
		}
		if err != nil {
			return false, err
		}
		if hit {
			return !e.negate, nil
		}
	}
	return false, nil
}

// domainMatch: exact, ".parent" matches subdomains, and with
// parent_domain_matches_subdomains a plain name matches them too.
func (ml *matchList) domainMatch(pattern, name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if strings.HasPrefix(pattern, ".") {
		return strings.HasSuffix(name, pattern)
	}
	return name == pattern || ml.parent && strings.HasSuffix(name, "."+pattern)
}

func tableHas(open TableOpener, spec string, keys ...string) (bool, error) {
	if open == nil {
		return false, fmt.Errorf("table %s: lookup tables are not available", spec)
	}
	t, err := open(spec)
	if err != nil {
		key := ""
		for _, key = range keys {
			if key != "" {
				break
			}
		}
		return false, &TableError{Table: spec, Key: strings.ToLower(key), Open: true, Err: err}
	}
	for _, k := range keys {
		if k == "" {
			continue
		}
		_, found, err := t.Lookup(k)
		if err != nil {
			return false, &TableError{Table: spec, Key: strings.ToLower(k), Err: err}
		}
		if found {
			return true, nil
		}
	}
	return false, nil
}
