package spf

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// macroString is a parsed macro-string (RFC 7208 section 7.1).
type macroString struct{ parts []macroPart }

// macroPart is a literal (letter == 0) or a macro expansion.
type macroPart struct {
	literal string
	letter  byte // lower case
	upper   bool // URL-escape the value
	digits  int  // rightmost parts kept; 0: all
	reverse bool
	delims  string // "" is "."
}

// parseMacro parses a macro-string; exp allows the letters c, r, t and
// spaces, which only explanation texts may use.
func parseMacro(s string, exp bool) (*macroString, error) {
	m := &macroString{}
	lit := func(t string) {
		if n := len(m.parts); n > 0 && m.parts[n-1].letter == 0 {
			m.parts[n-1].literal += t
			return
		}
		m.parts = append(m.parts, macroPart{literal: t})
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b != '%' {
			if b < 0x21 && !(exp && b == ' ') || b > 0x7e {
				return nil, fmt.Errorf("macro-string: bad character %q", b)
			}
			lit(string(b))
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("macro-string: lone %%")
		}
		i++
		switch s[i] {
		case '%':
			lit("%")
			continue
		case '_':
			lit(" ")
			continue
		case '-':
			lit("%20")
			continue
		case '{':
		default:
			return nil, fmt.Errorf("macro-string: bad escape %%%c", s[i])
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("macro-string: unterminated %%{")
		}
		p, err := parseExpand(s[i+1:i+end], exp)
		if err != nil {
			return nil, err
		}
		m.parts = append(m.parts, p)
		i += end
	}
	return m, nil
}

// parseExpand parses the inside of %{...}: letter, digits, r, delimiters.
func parseExpand(s string, exp bool) (macroPart, error) {
	var p macroPart
	orig := s
	bad := func() (macroPart, error) { return p, fmt.Errorf("macro %%{%s}: bad syntax", orig) }
	if s == "" {
		return bad()
	}
	l := s[0]
	p.upper = l >= 'A' && l <= 'Z'
	p.letter = l | 0x20
	if !strings.ContainsRune("slodiphv", rune(p.letter)) && !(exp && strings.ContainsRune("crt", rune(p.letter))) || !isAlpha(l) {
		return bad()
	}
	s = s[1:]
	j := 0
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j > 0 {
		n, err := strconv.Atoi(s[:j])
		if err != nil || n == 0 {
			return bad()
		}
		p.digits = min(n, 128)
		s = s[j:]
	}
	if s != "" && (s[0] == 'r' || s[0] == 'R') {
		p.reverse = true
		s = s[1:]
	}
	for k := 0; k < len(s); k++ {
		if !strings.ContainsRune(".-+,/_=", rune(s[k])) {
			return bad()
		}
	}
	p.delims = s
	return p, nil
}

// expand evaluates a macro-string for the current domain.
func (e *eval) expand(m *macroString, domain string) string {
	var b strings.Builder
	for _, p := range m.parts {
		if p.letter == 0 {
			b.WriteString(p.literal)
			continue
		}
		v := transform(e.macroValue(p.letter, domain), p)
		if p.upper {
			v = urlEscape(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

func (e *eval) macroValue(letter byte, domain string) string {
	switch letter {
	case 's':
		return e.sender
	case 'l':
		return e.local
	case 'o':
		return e.senderDomain
	case 'd':
		return domain
	case 'i':
		return dotIP(e.ip)
	case 'c':
		return e.ip.String()
	case 'p':
		return e.validatedName(domain)
	case 'v':
		if e.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'h':
		return e.helo
	case 'r':
		if e.c.Receiver != "" {
			return e.c.Receiver
		}
		return "unknown"
	case 't':
		now := time.Now
		if e.c.Now != nil {
			now = e.c.Now
		}
		return strconv.FormatInt(now().Unix(), 10)
	}
	return ""
}

// transform applies the digits, reversal and delimiters of a macro.
func transform(v string, p macroPart) string {
	if p.digits == 0 && !p.reverse && p.delims == "" {
		return v
	}
	delims := p.delims
	if delims == "" {
		delims = "."
	}
	parts := splitAny(v, delims)
	if p.reverse {
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
	}
	if p.digits > 0 && p.digits < len(parts) {
		parts = parts[len(parts)-p.digits:]
	}
	return strings.Join(parts, ".")
}

func splitAny(s, delims string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(delims, s[i]) >= 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// urlEscape escapes all but the unreserved characters (RFC 3986).
func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
