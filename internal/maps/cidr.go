package maps

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// cidr: tables (cidr_table(5)). Syntax and messages follow Postfix 3.7.11
// as measured with postmap (testdata/cidr.*):
//
//	[!]pattern result       pattern = addr | addr/len | [addr] | [addr]/len | [addr/len]
//	if [!]pattern ... endif (case-insensitive keywords, nestable)
//
// Any number of "!" and whitespace may precede a pattern; each "!"
// negates. A negated rule matches addresses of the same family that are
// outside the network; it never matches the other family. An IF whose
// pattern has the other family skips its block, also when negated.
// Bad rules are skipped with a warning such as
// `cidr map /etc/postfix/c.cidr, line 3: bad mask length in "1.2.3.4/33": skipping this rule`.
// Addresses are parsed as inet_pton does: no leading zeros or short
// forms in IPv4, no zone in IPv6; v4-mapped IPv6 stays IPv6.
type cidrTable struct {
	base
	rules []cidrRule
}

type cidrOp int

const (
	cidrMatch cidrOp = iota
	cidrIf
	cidrEndif
)

type cidrRule struct {
	op     cidrOp
	prefix netip.Prefix
	match  bool // false for negated rules
	value  string
	end    int // for IF: index of the matching ENDIF, -1 if none
	line   int
}

func openCIDR(spec, path string) (Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, openError("open", path, err)
	}
	t := &cidrTable{base: base{spec: spec}}
	t.parse(path, string(data))
	return t, nil
}

func (t *cidrTable) parse(path, data string) {
	lines, w := logicalLines(path, data)
	var open []int // indexes of unclosed IF rules
	for _, ln := range lines {
		r, err := parseCIDRLine(ln.Text)
		if err == nil && r.op == cidrEndif && len(open) == 0 {
			err = fmt.Errorf("ENDIF without IF")
		}
		if err != nil {
			w.add(ln.Num, "cidr map %s, line %d: %s: skipping this rule", path, ln.Num, err)
			continue
		}
		r.line = ln.Num
		switch r.op {
		case cidrIf:
			r.end = -1
			open = append(open, len(t.rules))
		case cidrEndif:
			t.rules[open[len(open)-1]].end = len(t.rules)
			open = open[:len(open)-1]
		}
		t.rules = append(t.rules, r)
	}
	t.warnings = w.sorted()
	// Postfix reports unclosed IFs after reading the file, innermost first.
	for i := len(open) - 1; i >= 0; i-- {
		t.warnf("cidr map %s, line %d: IF has no matching ENDIF", path, t.rules[open[i]].line)
	}
}

func parseCIDRLine(text string) (cidrRule, error) {
	text = strings.TrimRight(text, spaceChars)
	switch {
	case hasKeyword(text, "endif"):
		if strings.TrimLeft(text[5:], spaceChars) != "" {
			return cidrRule{}, fmt.Errorf("garbage after ENDIF")
		}
		return cidrRule{op: cidrEndif}, nil
	case hasKeyword(text, "if"):
		// The whole rest of the line is the pattern: "if 10.0.0.0/8 x"
		// fails with `bad mask value in "10.0.0.0/8 x"`, as in Postfix.
		match, pat := cidrNegation(text[2:])
		if pat == "" {
			return cidrRule{}, fmt.Errorf("no address pattern")
		}
		p, err := parseCIDRPattern(pat)
		return cidrRule{op: cidrIf, prefix: p, match: match}, err
	}
	match, rest := cidrNegation(text)
	i := strings.IndexAny(rest, spaceChars)
	if i < 0 {
		i = len(rest)
	}
	pat, value := rest[:i], strings.TrimLeft(rest[i:], spaceChars)
	if pat == "" {
		return cidrRule{}, fmt.Errorf("no address pattern")
	}
	p, err := parseCIDRPattern(pat)
	if err == nil && value == "" {
		err = fmt.Errorf("no lookup result")
	}
	return cidrRule{op: cidrMatch, prefix: p, match: match, value: value}, err
}

// cidrNegation consumes leading "!" and whitespace; each "!" toggles.
func cidrNegation(s string) (match bool, rest string) {
	match = true
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '!':
			match = !match
		case !isSpace(s[i]):
			return match, s[i:]
		}
	}
	return match, ""
}

// parseCIDRPattern parses one address pattern with Postfix's checks in
// Postfix's order: brackets, mask digits, mask length, network, host bits.
func parseCIDRPattern(pat string) (netip.Prefix, error) {
	addr, search := pat, pat
	if strings.HasPrefix(pat, "[") {
		inner := pat[1:]
		j := strings.IndexByte(inner, ']')
		if j < 0 {
			return netip.Prefix{}, fmt.Errorf("missing ']' character after \"[%s\"", inner)
		}
		after := inner[j+1:]
		addr = inner[:j] + after // "[a]/n" → "a/n"
		switch {
		case after == "":
			search = inner[:j] // "[a/n]" keeps its mask
		case after[0] != '/':
			return netip.Prefix{}, fmt.Errorf("garbage after \"[%s]\"", inner[:j])
		default:
			search = addr
		}
	}
	host, mask, hasMask := strings.Cut(search, "/")
	if !hasMask {
		a, ok := parseInetPton(addr)
		if !ok {
			return netip.Prefix{}, fmt.Errorf("bad address pattern: \"%s\"", addr)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	bits := 32
	if strings.Contains(host, ":") {
		bits = 128
	}
	// Postfix converts with atoi() into an unsigned int: strtol
	// saturates at 2^63-1 and the conversion keeps the low 32 bits, so
	// "/4294967304" is accepted as "/8" (measured), huge masks are "bad
	// mask length".
	n64, err := strconv.ParseInt(mask, 10, 64)
	if err != nil {
		n64 = math.MaxInt64
	}
	n := int(uint32(n64))
	switch {
	case mask == "" || strings.Trim(mask, "0123456789") != "":
		return netip.Prefix{}, fmt.Errorf("bad mask value in \"%s/%s\"", host, mask)
	case n > bits:
		return netip.Prefix{}, fmt.Errorf("bad mask length in \"%s/%s\"", host, mask)
	}
	a, ok := parseInetPton(host)
	if !ok || a.BitLen() != bits {
		return netip.Prefix{}, fmt.Errorf("bad network value in \"%s/%s\"", host, mask)
	}
	p := netip.PrefixFrom(a, n)
	if p.Masked().Addr() != a {
		return netip.Prefix{}, fmt.Errorf("non-null host address bits in \"%s/%s\", perhaps you should use \"%s/%d\" instead",
			host, mask, p.Masked().Addr(), n)
	}
	return p, nil
}

// parseInetPton accepts what glibc's inet_pton accepts for the family
// that Postfix picks (IPv6 if the text contains ":"): netip agrees on
// dotted quads and RFC 4291 text, except that it also accepts zones.
func parseInetPton(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || strings.Contains(s, ":") != a.Is6() {
		return netip.Addr{}, false
	}
	return a, true
}

func (t *cidrTable) Lookup(key string) (string, bool, error) {
	a, ok := parseInetPton(key)
	if !ok {
		return "", false, nil
	}
	for i := 0; i < len(t.rules); i++ {
		r := &t.rules[i]
		switch r.op {
		case cidrMatch:
			if r.prefix.Addr().Is6() == a.Is6() && r.prefix.Contains(a) == r.match {
				return r.value, true, nil
			}
		case cidrIf:
			if r.prefix.Addr().Is6() == a.Is6() && r.prefix.Contains(a) == r.match {
				continue
			}
			if r.end < 0 {
				// An IF without ENDIF that does not match ends the
				// search, as in cidr_match_execute().
				return "", false, nil
			}
			i = r.end
		}
	}
	return "", false, nil
}

func (t *cidrTable) Pattern() bool { return true }
