package spf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// mechanism is one directive of a record.
type mechanism struct {
	text   string // as written, for Outcome.Mechanism
	qual   Result // Pass, Fail, SoftFail, Neutral
	name   string // all include a mx ptr ip4 ip6 exists, lower case
	domain *macroString
	prefix netip.Prefix // ip4, ip6
	cidr4  int          // a, mx: -1 when absent
	cidr6  int
}

// record is a parsed SPF record.
type record struct {
	mechs    []mechanism
	redirect *macroString
	exp      *macroString
}

// isSPF reports whether a TXT string is an SPF version 1 record.
func isSPF(txt string) bool {
	if len(txt) < 6 || !strings.EqualFold(txt[:6], "v=spf1") {
		return false
	}
	return len(txt) == 6 || txt[6] == ' '
}

// parseRecord parses a whole record (starting "v=spf1"); any syntax error
// is a permerror (RFC 7208 section 4.6).
func parseRecord(txt string) (*record, error) {
	if !isSPF(txt) {
		return nil, fmt.Errorf("not an SPF record")
	}
	r := &record{}
	for _, term := range strings.Split(txt[6:], " ") {
		if term == "" {
			continue
		}
		if name, value, ok := modifier(term); ok {
			m, err := parseMacro(value, false)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", term, err)
			}
			switch strings.ToLower(name) {
			case "redirect", "exp":
				if err := checkDomainEnd(value); err != nil || value == "" {
					return nil, fmt.Errorf("%s: bad domain-spec", term)
				}
				dst := &r.redirect
				if strings.EqualFold(name, "exp") {
					dst = &r.exp
				}
				if *dst != nil {
					return nil, fmt.Errorf("%s: modifier repeated", name)
				}
				*dst = m
			}
			continue
		}
		m, err := parseMechanism(term)
		if err != nil {
			return nil, err
		}
		r.mechs = append(r.mechs, m)
	}
	return r, nil
}

// modifier splits name=value when term is a modifier.
func modifier(term string) (name, value string, ok bool) {
	i := 0
	for i < len(term) && (isAlpha(term[i]) || i > 0 && (isDigit(term[i]) || strings.IndexByte("-_.", term[i]) >= 0)) {
		i++
	}
	if i == 0 || i == len(term) || term[i] != '=' {
		return "", "", false
	}
	return term[:i], term[i+1:], true
}

func isAlpha(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func parseMechanism(term string) (mechanism, error) {
	m := mechanism{text: term, qual: Pass, cidr4: -1, cidr6: -1}
	s := term
	if q, ok := map[byte]Result{'+': Pass, '-': Fail, '~': SoftFail, '?': Neutral}[s[0]]; ok {
		m.qual, s = q, s[1:]
	}
	i := 0
	for i < len(s) && (isAlpha(s[i]) || isDigit(s[i])) {
		i++
	}
	m.name, s = strings.ToLower(s[:i]), s[i:]
	bad := func(why string) (mechanism, error) { return m, fmt.Errorf("%s: %s", term, why) }
	switch m.name {
	case "all":
		if s != "" {
			return bad("all takes no argument")
		}
	case "ip4", "ip6":
		if !strings.HasPrefix(s, ":") {
			return bad("address required")
		}
		addr, bits, hasBits := strings.Cut(s[1:], "/")
		a, err := netip.ParseAddr(addr)
		if err != nil || a.Zone() != "" || m.name == "ip4" && !a.Is4() || m.name == "ip6" && !strings.Contains(addr, ":") {
			return bad("bad address")
		}
		n := a.BitLen()
		if hasBits {
			if n, err = cidrLen(bits, a.BitLen()); err != nil {
				return bad(err.Error())
			}
		}
		m.prefix = netip.PrefixFrom(a, n).Masked()
	case "include", "exists", "a", "mx", "ptr":
		spec := s
		if m.name == "a" || m.name == "mx" {
			var err error
			if spec, m.cidr4, m.cidr6, err = dualCIDR(s); err != nil {
				return bad(err.Error())
			}
		}
		if spec == "" {
			if m.name == "include" || m.name == "exists" {
				return bad("domain required")
			}
			break
		}
		if spec[0] != ':' || len(spec) == 1 {
			return bad("syntax error")
		}
		if err := checkDomainEnd(spec[1:]); err != nil {
			return bad(err.Error())
		}
		ms, err := parseMacro(spec[1:], false)
		if err != nil {
			return bad(err.Error())
		}
		m.domain = ms
	default:
		return bad("unknown mechanism")
	}
	return m, nil
}

// dualCIDR splits "[:domain][/n][//n]" from the end of an a or mx term.
func dualCIDR(s string) (rest string, c4, c6 int, err error) {
	c4, c6 = -1, -1
	if i := strings.LastIndex(s, "//"); i >= 0 && !inMacro(s, i) {
		if c6, err = cidrLen(s[i+2:], 128); err != nil {
			return "", 0, 0, err
		}
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 && !inMacro(s, i) {
		if c4, err = cidrLen(s[i+1:], 32); err != nil {
			return "", 0, 0, err
		}
		s = s[:i]
	}
	return s, c4, c6, nil
}

// inMacro reports whether s[i] is inside a %{...} (a delimiter there is
// no CIDR length).
func inMacro(s string, i int) bool {
	return strings.LastIndexByte(s[:i], '{') > strings.LastIndexByte(s[:i], '}')
}

// cidrLen parses a prefix length: decimal without leading zeros, <= max.
func cidrLen(s string, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || s == "" || s[0] == '+' || s[0] == '-' || len(s) > 1 && s[0] == '0' || n > max {
		return 0, fmt.Errorf("bad CIDR length %q", s)
	}
	return n, nil
}

// checkDomainEnd is the domain-end rule of a domain-spec: it ends in a
// macro expansion or in a top label that is not all digits.
func checkDomainEnd(spec string) error {
	if strings.HasSuffix(spec, "}") {
		return nil
	}
	s := strings.TrimSuffix(spec, ".")
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return fmt.Errorf("domain-spec %q: needs a top label", spec)
	}
	top := s[i+1:]
	letter := false
	for j := 0; j < len(top); j++ {
		switch b := top[j]; {
		case isAlpha(b):
			letter = true
		case isDigit(b):
		case b == '-' && j > 0 && j < len(top)-1:
			letter = true
		default:
			return fmt.Errorf("domain-spec %q: bad top label", spec)
		}
	}
	if top == "" || !letter {
		return fmt.Errorf("domain-spec %q: bad top label", spec)
	}
	return nil
}
