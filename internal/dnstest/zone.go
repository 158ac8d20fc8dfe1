package dnstest

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Type is a DNS record type.
type Type uint16

// The record types the server answers with. TypeANY in a query returns
// every record of the name.
const (
	TypeA     Type = 1
	TypeCNAME Type = 5
	TypePTR   Type = 12
	TypeMX    Type = 15
	TypeTXT   Type = 16
	TypeAAAA  Type = 28
	TypeANY   Type = 255
)

var typeNames = map[Type]string{TypeA: "A", TypeCNAME: "CNAME", TypePTR: "PTR", TypeMX: "MX",
	TypeTXT: "TXT", TypeAAAA: "AAAA", TypeANY: "ANY"}

// String returns the type's mnemonic, or TYPEnn (RFC 3597) for others.
func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// failure is what a pseudo-record makes the server do instead of answering.
type failure int

const (
	noFailure failure = iota
	failServFail
	failTimeout
)

// Record is one resource record of a Zone, or a pseudo-record (ServFail,
// Timeout) that makes lookups of its name fail. Build records with the
// constructors; the zero Record is invalid.
type Record struct {
	Type   Type
	addr   netip.Addr // A, AAAA
	pref   uint16     // MX
	target string     // MX exchange, PTR, CNAME
	texts  []string   // TXT character-strings
	fail   failure
	types  []Type // the query types a failure applies to; none: all
}

// A is an IPv4 address record; an invalid address makes New fail.
func A(addr string) Record { return Record{Type: TypeA, addr: parseAddr(addr)} }

// AAAA is an IPv6 address record; an invalid address makes New fail.
func AAAA(addr string) Record { return Record{Type: TypeAAAA, addr: parseAddr(addr)} }

// MX is a mail exchanger record. MX(0, ".") is RFC 7505's null MX.
func MX(pref uint16, host string) Record { return Record{Type: TypeMX, pref: pref, target: host} }

// NullMX is the RFC 7505 "MX 0 ." record: the domain accepts no mail.
func NullMX() Record { return MX(0, ".") }

// TXT is a text record of one or more character-strings; strings longer
// than 255 bytes are split on the wire.
func TXT(texts ...string) Record { return Record{Type: TypeTXT, texts: texts} }

// PTR is a pointer record (reverse lookups: see ReverseName).
func PTR(host string) Record { return Record{Type: TypePTR, target: host} }

// CNAME makes the name an alias; the server follows chains inside the zone.
func CNAME(target string) Record { return Record{Type: TypeCNAME, target: target} }

// ServFail makes queries for the name answer SERVFAIL (a temporary
// failure); with types, only queries of those types.
func ServFail(types ...Type) Record { return Record{fail: failServFail, types: types} }

// Timeout makes queries for the name go unanswered, so the client times
// out; with types, only queries of those types.
func Timeout(types ...Type) Record { return Record{fail: failTimeout, types: types} }

func parseAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a
}

// failsFor reports whether a pseudo-record applies to a query type.
func (r Record) failsFor(t Type) bool {
	return r.fail != noFailure && (len(r.types) == 0 || slices.Contains(r.types, t))
}

// String gives the record in the form ParseRecord reads (without name).
func (r Record) String() string {
	switch r.fail {
	case failServFail, failTimeout:
		word := map[failure]string{failServFail: "SERVFAIL", failTimeout: "TIMEOUT"}[r.fail]
		for _, t := range r.types {
			word += " " + t.String()
		}
		return word
	}
	switch r.Type {
	case TypeA, TypeAAAA:
		return r.Type.String() + " " + r.addr.String()
	case TypeMX:
		return fmt.Sprintf("MX %d %s", r.pref, r.target)
	case TypeTXT:
		var b strings.Builder
		b.WriteString("TXT")
		for _, t := range r.texts {
			b.WriteString(" " + strconv.Quote(t))
		}
		return b.String()
	}
	return r.Type.String() + " " + r.target
}

// validate checks what the wire encoding needs.
func (r Record) validate() error {
	if r.fail != noFailure {
		return nil
	}
	switch r.Type {
	case TypeA:
		if !r.addr.Is4() {
			return fmt.Errorf("A record needs an IPv4 address")
		}
	case TypeAAAA:
		if !r.addr.Is6() || r.addr.Is4In6() {
			return fmt.Errorf("AAAA record needs an IPv6 address")
		}
	case TypeMX, TypePTR, TypeCNAME:
		if _, err := encodeName(nil, r.target); err != nil {
			return fmt.Errorf("%s target: %w", r.Type, err)
		}
	case TypeTXT:
		if len(r.texts) == 0 {
			return fmt.Errorf("TXT record needs a string")
		}
	default:
		return fmt.Errorf("unsupported record type %s", r.Type)
	}
	return nil
}

// Zone is the data a Server answers from: records by owner name. Names
// are case-insensitive, with or without the trailing dot; an IP address
// as a name stands for its reverse name (ReverseName), so
// Zone{"192.0.2.7": {PTR("mail.example.org")}} sets up a reverse lookup.
// A name not in the zone gets NXDOMAIN; a name in the zone without
// records of the asked type gets an empty answer (NODATA).
type Zone map[string][]Record

// ReverseName is the in-addr.arpa or ip6.arpa name of an address
// (without the trailing dot), where its PTR record lives.
func ReverseName(a netip.Addr) string {
	a = a.Unmap()
	var b strings.Builder
	if a.Is4() {
		o := a.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.in-addr.arpa", o[3], o[2], o[1], o[0])
		return b.String()
	}
	o := a.As16()
	for i := len(o) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "%x.%x.", o[i]&0xf, o[i]>>4)
	}
	b.WriteString("ip6.arpa")
	return b.String()
}

// canonical is the lookup key of a name: lower case, no trailing dot,
// addresses turned into their reverse names.
func canonical(name string) string {
	if a, err := netip.ParseAddr(name); err == nil {
		return ReverseName(a)
	}
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// ParseRecord reads one zone line, "NAME TYPE DATA", for test fixtures:
//
//	example.org A 192.0.2.1
//	example.org AAAA 2001:db8::1
//	example.org MX 10 mx.example.org
//	null.example MX 0 .
//	2.0.0.127.bl.example TXT "listed; see http://bl.example/"
//	192.0.2.7 PTR mail.example.org      (an address: its reverse name)
//	www.example.org CNAME example.org
//	broken.example SERVFAIL             (optionally: SERVFAIL MX AAAA)
//	slow.example TIMEOUT                (optionally: TIMEOUT A)
//
// TXT data is one or more Go-quoted strings, or bare words.
func ParseRecord(line string) (name string, r Record, err error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return "", Record{}, fmt.Errorf("zone line %q: want NAME TYPE DATA", line)
	}
	name, word, args := f[0], strings.ToUpper(f[1]), f[2:]
	need := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("zone line %q: %s takes %d argument(s)", line, word, n)
		}
		return nil
	}
	switch word {
	case "A", "AAAA":
		if err = need(1); err == nil {
			a, perr := netip.ParseAddr(args[0])
			if perr != nil {
				return "", Record{}, fmt.Errorf("zone line %q: %w", line, perr)
			}
			r = Record{Type: TypeA, addr: a}
			if word == "AAAA" {
				r.Type = TypeAAAA
			}
		}
	case "MX":
		if err = need(2); err == nil {
			pref, perr := strconv.ParseUint(args[0], 10, 16)
			if perr != nil {
				return "", Record{}, fmt.Errorf("zone line %q: MX preference: %w", line, perr)
			}
			r = MX(uint16(pref), args[1])
		}
	case "PTR", "CNAME":
		if err = need(1); err == nil {
			r = Record{Type: map[string]Type{"PTR": TypePTR, "CNAME": TypeCNAME}[word], target: args[0]}
		}
	case "TXT":
		var texts []string
		if texts, err = parseTexts(afterFields(line, 2)); err == nil {
			r = TXT(texts...)
		}
	case "SERVFAIL", "TIMEOUT":
		var types []Type
		for _, a := range args {
			t, ok := parseType(a)
			if !ok {
				return "", Record{}, fmt.Errorf("zone line %q: unknown type %q", line, a)
			}
			types = append(types, t)
		}
		r = ServFail(types...)
		if word == "TIMEOUT" {
			r = Timeout(types...)
		}
	default:
		return "", Record{}, fmt.Errorf("zone line %q: unknown record type %q", line, f[1])
	}
	if err == nil {
		if verr := r.validate(); verr != nil {
			err = fmt.Errorf("zone line %q: %w", line, verr)
		}
	}
	return name, r, err
}

// afterFields is line without its first n blank-separated fields.
func afterFields(line string, n int) string {
	s := strings.TrimSpace(line)
	for range n {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = strings.TrimSpace(s[i:])
	}
	return s
}

func parseType(s string) (Type, bool) {
	for t, n := range typeNames {
		if strings.EqualFold(n, s) {
			return t, true
		}
	}
	return 0, false
}

// parseTexts splits TXT data into quoted strings or bare words.
func parseTexts(s string) ([]string, error) {
	var out []string
	for s != "" {
		if s[0] == '"' {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil, fmt.Errorf("TXT data %q: %w", s, err)
			}
			t, _ := strconv.Unquote(q)
			out = append(out, t)
			s = strings.TrimSpace(s[len(q):])
			continue
		}
		word, rest := s, ""
		if i := strings.IndexAny(s, " \t"); i >= 0 {
			word, rest = s[:i], s[i:]
		}
		out = append(out, word)
		s = strings.TrimSpace(rest)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("TXT record needs a string")
	}
	return out, nil
}

// ParseZone reads zone lines (see ParseRecord); blank lines and lines
// starting with '#' are skipped.
func ParseZone(text string) (Zone, error) {
	z := Zone{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, r, err := ParseRecord(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		z[name] = append(z[name], r)
	}
	return z, nil
}
