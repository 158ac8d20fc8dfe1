package pipelining

import "strings"

// Escape shows client bytes in a log line as Postfix's escape() does:
// printable ASCII as it is with "\" doubled, the C escapes \a \b \t \n
// \v \f \r, and every other byte as a three-digit octal escape ("\303").
func Escape(p []byte) string {
	var b strings.Builder
	b.Grow(len(p))
	for _, c := range p {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c >= ' ' && c <= '~':
			b.WriteByte(c)
		case c >= '\a' && c <= '\r':
			b.WriteByte('\\')
			b.WriteByte("abtnvfr"[c-'\a'])
		default:
			b.WriteByte('\\')
			b.WriteByte('0' + c>>6)
			b.WriteByte('0' + c>>3&7)
			b.WriteByte('0' + c&7)
		}
	}
	return b.String()
}
