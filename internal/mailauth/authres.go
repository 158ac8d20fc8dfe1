package mailauth

import (
	"strings"
)

// result is one method's result in Authentication-Results (RFC 8601
// section 2.2): "method=value (comment) reason=... ptype.prop=pvalue".
type result struct {
	method, value string
	comment       string
	reason        string
	props         [][2]string // ptype.property, value
}

// format is the header value: the authserv-id, then each result on its
// own folded line; no result is "none" (RFC 8601 section 2.2).
func format(authservID string, results []result) string {
	var b strings.Builder
	b.WriteString(authservID)
	b.WriteString(";")
	if len(results) == 0 {
		b.WriteString(" none")
		return b.String()
	}
	for i, r := range results {
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString("\r\n\t")
		b.WriteString(r.method + "=" + r.value)
		if r.comment != "" {
			b.WriteString(" (" + commentText(r.comment) + ")")
		}
		if r.reason != "" {
			b.WriteString(" reason=" + quoted(r.reason))
		}
		for _, p := range r.props {
			if p[1] == "" {
				continue
			}
			b.WriteString(" " + p[0] + "=" + pvalue(p[1]))
		}
	}
	return b.String()
}

// pvalue writes a property value bare when it is a token or looks like
// an address (local@domain, RFC 8601 section 2.2's pvalue), else quoted.
func pvalue(s string) string {
	if s == "" {
		return `""`
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '@' || c == '.' {
			continue
		}
		if !isTokenChar(c) {
			return quoted(s)
		}
	}
	if strings.Count(s, "@") > 1 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return quoted(s)
	}
	return s
}

// isTokenChar: MIME token characters (RFC 2045): printable ASCII but
// space and tspecials.
func isTokenChar(c byte) bool {
	return c > ' ' && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?=`, rune(c))
}

// quoted is an RFC 5322 quoted-string; control characters become spaces.
func quoted(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// commentText keeps a comment's text balanced and on one line: every
// parenthesis and backslash is quoted, control characters are spaces.
func commentText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c == 0x7f:
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// AuthservID returns the authserv-id of an Authentication-Results value
// (RFC 8601 section 2.2: [CFWS] authserv-id, a token or quoted-string,
// then optional version and ";"), ok false when there is none. Comments
// (nested) and folding whitespace are skipped.
func AuthservID(v string) (string, bool) {
	i := skipCFWS(v, 0)
	if i >= len(v) {
		return "", false
	}
	if v[i] == '"' {
		var b strings.Builder
		for i++; i < len(v); i++ {
			switch c := v[i]; c {
			case '\\':
				if i+1 < len(v) {
					i++
					b.WriteByte(v[i])
				}
			case '"':
				id := strings.TrimSpace(b.String())
				return id, id != ""
			case '\r', '\n':
			default:
				b.WriteByte(c)
			}
		}
		return "", false // unterminated
	}
	j := i
	for j < len(v) && isTokenChar(v[j]) {
		j++
	}
	if j == i {
		return "", false
	}
	return v[i:j], true
}

// skipCFWS skips folding whitespace and (nested, quoted-pair aware)
// comments from i.
func skipCFWS(v string, i int) int {
	depth := 0
	for i < len(v) {
		c := v[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '\\' && depth > 0:
			i++
		case depth > 0:
		default:
			return i
		}
		i++
	}
	return i
}

// ours reports whether an Authentication-Results value claims our
// authserv-id (case-insensitive, RFC 8601 section 5).
func ours(value, authservID string) bool {
	id, ok := AuthservID(value)
	return ok && strings.EqualFold(id, authservID)
}
