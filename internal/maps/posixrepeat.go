package maps

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// repeat applies a repetition operator to the last atom. POSIX allows a
// repetition of a repetition (ERE "a**", "a+?"), RE2 does not, so the
// repeated atom is wrapped in a non-capturing group first.
func (p *posixParser) repeat(op string) error {
	if p.atom < 0 {
		return errPrecede
	}
	if p.repeated {
		if !p.ere {
			return errPrecede // glibc BRE rejects "a**"
		}
		wrapped := append([]byte("(?:"), p.out[p.atom:]...)
		p.out = append(append(p.out[:p.atom], wrapped...), ')')
	}
	p.out = append(p.out, op...)
	p.repeated, p.atStart = true, false
	return nil
}

// interval parses the rest of "{m}", "{m,}", "{m,n}", "{,n}" after "{"
// (ERE) or "\{" (BRE) with the error rules of glibc's parse_dup_op():
// a non-digit makes the bound invalid, but scanning goes on to the
// closing brace; running into the end of the pattern is "Unmatched \{".
func (p *posixParser) interval(close string) error {
	if p.atom < 0 {
		return errPrecede
	}
	const end = 0
	// fetch is glibc's fetch_number(): -1 without digits, -2 if invalid.
	fetch := func() (n int, term byte) {
		n = -1
		for {
			switch {
			case p.i >= len(p.src):
				return -2, end
			case strings.HasPrefix(p.src[p.i:], close):
				p.i += len(close)
				return n, '}'
			case p.src[p.i] == ',':
				p.i++
				return n, ','
			}
			c := p.src[p.i]
			if p.i++; c == '\\' && p.i < len(p.src) {
				p.i++ // an escape is one token, and not a digit
				c = 'x'
			}
			switch {
			case n == -2 || c < '0' || c > '9':
				n = -2
			case n == -1:
				n = int(c - '0')
			default:
				n = min(n*10+int(c-'0'), 32768)
			}
		}
	}
	lo, term := fetch()
	if lo == -1 {
		if term != ',' {
			return errBraceBody
		}
		lo = 0
	}
	hi, comma := lo, term == ','
	if lo != -2 && comma {
		hi, term = fetch()
	}
	switch {
	case lo == -2 || hi == -2:
		if term == end {
			return errBraceOpen
		}
		return errBraceBody
	case hi != -1 && lo > hi, term != '}':
		return errBraceBody
	case lo > 32767 || hi > 32767:
		return errTooBig
	case lo > 1000 || hi > 1000:
		return errCountRE2
	}
	op := fmt.Sprintf("{%d}", lo)
	if comma && hi == -1 {
		op = fmt.Sprintf("{%d,}", lo)
	} else if comma {
		op = fmt.Sprintf("{%d,%d}", lo, hi)
	}
	return p.repeat(op)
}

// toLatin1 maps each byte of s to the rune with the same value, so that
// RE2 matches bytes; ASCII strings are returned unchanged.
func toLatin1(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		b = utf8.AppendRune(b, rune(s[i]))
	}
	return string(b)
}

// fromLatin1 reverses toLatin1.
func fromLatin1(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return string(b)
}
