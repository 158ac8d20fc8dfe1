package address

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Domain limits of Postfix's valid_hostname() (src/util/valid_hostname.c).
const (
	maxLabel  = 63
	maxDomain = 255
)

// ValidDomain reports whether d is a domain Postfix would route mail to: a
// host name by valid_hostname() or an address literal by
// valid_mailhost_literal(). A trailing dot is not valid here; the resolver
// strips one before it asks. With smtputf8, labels may be UTF-8 (RFC 6531
// U-labels). Postfix checks those by converting them to A-labels with
// libicu; without ICU we accept letters, marks and digits in labels of at
// most 63 characters, which admits every IDN and a few names IDNA would
// refuse (they then fail in DNS rather than here).
func ValidDomain(d string, smtputf8 bool) bool {
	if strings.HasPrefix(d, "[") {
		return validLiteral(d)
	}
	return validHostname(d, smtputf8)
}

func validHostname(name string, smtputf8 bool) bool {
	if name == "" || len(name) > maxDomain || !utf8.ValidString(name) {
		return false
	}
	numeric := true
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' ||
			utf8.RuneCountInString(label) > maxLabel {
			return false
		}
		for _, r := range label {
			switch {
			case r >= '0' && r <= '9':
			case r < utf8.RuneSelf && (isAlpha(byte(r)) || r == '-' || r == '_'):
				// Postfix accepts '_' anywhere ("grr..." in valid_hostname.c).
				numeric = false
			case r >= utf8.RuneSelf && smtputf8 &&
				(unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)):
				numeric = false
			default:
				return false
			}
		}
	}
	// An all-numeric name is an IP address without brackets: Postfix
	// refuses it (resolve_numeric_domain = no) so that "user@1.2.3.4"
	// cannot dodge the literal checks.
	return !numeric
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// validLiteral is valid_mailhost_literal(): [IPv4] or [IPv6:addr], the
// prefix case-insensitive. RFC 5321 General-address-literal ([tag:x]) is
// refused, as Postfix does.
func validLiteral(d string) bool {
	if len(d) < 2 || d[0] != '[' || d[len(d)-1] != ']' {
		return false
	}
	inner := d[1 : len(d)-1]
	if len(inner) >= 5 && strings.EqualFold(inner[:5], "IPv6:") {
		return validIPv6(inner[5:])
	}
	return validIPv4(inner)
}

// validIPv4 is valid_ipv4_hostaddr(): four decimal octets up to 255;
// leading zeros allowed, but "0.x.y.z" is not unless all zero.
func validIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for i, p := range parts {
		if p == "" || len(p) > 3 {
			return false
		}
		v := 0
		for j := 0; j < len(p); j++ {
			if !isDigit(p[j]) {
				return false
			}
			v = v*10 + int(p[j]-'0')
		}
		if v > 255 || (i == 0 && v == 0 && strings.Trim(s, "0.") != "") {
			return false
		}
	}
	return true
}

// validIPv6 follows valid_ipv6_hostaddr(): at most 8 hex fields of at most
// 4 digits, one "::", and an optional trailing dotted quad.
func validIPv6(s string) bool {
	if strings.Count(s, "::") > 1 || strings.Contains(s, ":::") ||
		(strings.HasPrefix(s, ":") && !strings.HasPrefix(s, "::")) {
		return false
	}
	fields := strings.Split(s, ":")
	if len(fields) < 3 || len(fields) > 8 {
		return false
	}
	last := fields[len(fields)-1]
	if strings.Contains(last, ".") {
		if len(fields) > 7 || !validIPv4(last) {
			return false
		}
		fields = fields[:len(fields)-1]
	} else if last == "" && !strings.HasSuffix(s, "::") {
		return false
	}
	for _, f := range fields {
		if len(f) > 4 || strings.Trim(f, "0123456789abcdefABCDEF") != "" {
			return false
		}
	}
	return true
}

// LiteralIP returns the IP address of a domain literal ("[192.0.2.1]",
// "[IPv6:2001:db8::1]") for comparison with the host's own addresses, as
// resolve_local() does for inet_interfaces and proxy_interfaces. It
// refuses octets with leading zeros, which Postfix passes to getaddrinfo()
// and glibc reads as octal ("[0177.0.0.1]" is 127.0.0.1 to Postfix,
// measured): a caller that treats "not ok" as "not ours" then refuses to
// relay for such a literal instead of guessing. IPv4-mapped IPv6
// addresses are unmapped, as getaddrinfo() comparisons in Postfix match
// them with the IPv4 address.
func LiteralIP(domain string) (netip.Addr, bool) {
	if !validLiteral(domain) {
		return netip.Addr{}, false
	}
	inner := domain[1 : len(domain)-1]
	if len(inner) >= 5 && strings.EqualFold(inner[:5], "IPv6:") {
		inner = inner[5:]
	}
	ip, err := netip.ParseAddr(inner)
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// isAtext is RFC 5322 atext plus RFC 6531 UTF8-non-ascii (controls and
// line separators excluded).
func isAtext(r rune) bool {
	if r >= utf8.RuneSelf {
		return !isControl(r)
	}
	c := byte(r)
	return isAlpha(c) || isDigit(c) || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isQtext is RFC 5321 qtextSMTP (printable ASCII and space except '"' and
// '\') plus UTF-8.
func isQtext(r rune) bool {
	if r >= utf8.RuneSelf {
		return !isControl(r)
	}
	return r >= 32 && r <= 126 && r != '"' && r != '\\'
}

// isDotString reports whether local can be written without quotes: RFC
// 5321 Dot-string, atoms of atext separated by single dots.
func isDotString(local string) bool {
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for _, r := range local {
		if r != '.' && !isAtext(r) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
