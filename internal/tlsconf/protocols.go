package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// protoNames are the protocol names of Postfix's *_tls_protocols, oldest
// first; SSLv2 and SSLv3 are accepted but Go never speaks them.
var protoNames = []string{"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

// protoVersions maps protoNames to crypto/tls versions (0: never spoken).
var protoVersions = []uint16{0, 0, tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// ParseProtocols reads a Postfix protocol list in either syntax: names
// to exclude ("!SSLv2, !SSLv3, !TLSv1") or include ("TLSv1.2 TLSv1.3"),
// and bounds (">=TLSv1.2", "<=TLSv1.3"); the forms may be combined. An
// empty value enables every protocol. Go offers only a contiguous range
// of versions, so a hole ("!TLSv1.2" with TLSv1.1 and TLSv1.3 allowed)
// is an error, as is a list that leaves no version Go speaks.
func ParseProtocols(v string) (minVer, maxVer uint16, err error) {
	var include, exclude uint8 // bit i: protoNames[i]
	lo, hi := 0, len(protoNames)-1
	for _, tok := range splitList(v) {
		var op string
		for _, p := range []string{">=", "<=", "!"} {
			if strings.HasPrefix(tok, p) {
				op, tok = p, strings.TrimSpace(tok[len(p):])
				break
			}
		}
		i := protoIndex(tok)
		if i < 0 {
			return 0, 0, fmt.Errorf("unknown TLS protocol %q (use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3, optionally after !, >= or <=)", tok)
		}
		switch op {
		case ">=":
			lo = max(lo, i)
		case "<=":
			hi = min(hi, i)
		case "!":
			exclude |= 1 << i
		default:
			include |= 1 << i
		}
	}
	allowed := uint8(1<<len(protoNames)) - 1
	if include != 0 {
		allowed = include
	}
	allowed &^= exclude
	for i := range protoNames {
		if i < lo || i > hi {
			allowed &^= 1 << i
		}
	}
	first, last := -1, -1
	for i, ver := range protoVersions {
		if ver == 0 || allowed&(1<<i) == 0 {
			continue
		}
		if first < 0 {
			first = i
		} else if last != i-1 {
			return 0, 0, fmt.Errorf("%q leaves a gap below %s: Go's TLS offers one range of versions", v, protoNames[i])
		}
		last = i
	}
	if first < 0 {
		return 0, 0, fmt.Errorf("%q allows no TLS version Go speaks (TLSv1 to TLSv1.3)", v)
	}
	return protoVersions[first], protoVersions[last], nil
}

func protoIndex(name string) int {
	for i, n := range protoNames {
		if strings.EqualFold(n, name) {
			return i
		}
	}
	return -1
}

// splitList splits a Postfix list on commas, colons and white space.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ':' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
}
