package sqlmap

import (
	"fmt"
	"strings"
)

// Template needs, as Postfix's db_common records them while parsing the
// query and result_format templates of one table: a key (or result)
// without what a template needs is skipped without a query.
const (
	needKeyDomain   = 1 << iota // %d in query; %D, %1-%9 in either
	needKeyUser                 // %u in query; %U in either
	needValueDomain             // %d in result_format
	needValueUser               // %u in result_format
)

// templates holds a table's parsed query and result_format.
type templates struct {
	query  string
	result string
	flags  int
	nparts int // highest %1-%9
}

// parseTemplate validates one template and records what it needs; query
// tells which template it is. Like db_common_parse, an unknown '%'
// sequence is a fatal error.
func (t *templates) parseTemplate(format string, query bool) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		if i == len(format) {
			return fmt.Errorf("invalid %s template: %q: '%%' at the end", kind(query), format)
		}
		switch c := format[i]; c {
		case '%', 's', 'S':
		case 'u':
			if query {
				t.flags |= needKeyUser
			} else {
				t.flags |= needValueUser
			}
		case 'd':
			if query {
				t.flags |= needKeyDomain
			} else {
				t.flags |= needValueDomain
			}
		case 'U':
			t.flags |= needKeyUser
		case 'D':
			t.flags |= needKeyDomain
		case '1', '2', '3', '4', '5', '6', '7', '8', '9':
			t.nparts = max(t.nparts, int(c-'0'))
			t.flags |= needKeyDomain
		default:
			return fmt.Errorf("invalid %s template: %q: unknown expansion %%%c", kind(query), format, c)
		}
	}
	return nil
}

func kind(query bool) string {
	if query {
		return "query"
	}
	return "result"
}

// quoter quotes a value for the database's string literals; an error
// means the value cannot be quoted safely and the lookup fails.
type quoter func(string) (string, error)

// parts is an address split for expansion.
type parts struct {
	whole, user, domain string
	hasDomain           bool     // an '@' was found
	labels              []string // domain labels, most significant first
}

func split(s string) parts {
	p := parts{whole: s, user: s}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		p.user, p.domain, p.hasDomain = s[:i], s[i+1:], true
	}
	return p
}

// applies reports whether a key (query side) or a result (value side)
// has what the templates need, as db_common_expand checks before it
// expands: a domain where one is needed, a non-empty local part where
// one is needed, enough non-empty domain labels for %1-%9.
func (t *templates) applies(p parts, domainFlag, userFlag int) bool {
	if t.flags&domainFlag != 0 && (!p.hasDomain || p.domain == "") {
		return false
	}
	if t.flags&userFlag != 0 && p.hasDomain && p.user == "" {
		return false
	}
	return true
}

// keyApplies reports whether a query is made for key at all.
func (t *templates) keyApplies(key string) bool {
	if key == "" {
		return false
	}
	p := split(key)
	if !t.applies(p, needKeyDomain, needKeyUser) {
		return false
	}
	return t.labels(&p)
}

// labels fills p.labels and reports whether the domain has the %1-%9
// labels the templates use, none of them empty.
func (t *templates) labels(p *parts) bool {
	if t.nparts == 0 {
		return true
	}
	l := strings.Split(p.domain, ".")
	if len(l) < t.nparts {
		return false
	}
	p.labels = make([]string, len(l))
	for i := range l {
		p.labels[i] = l[len(l)-1-i]
	}
	for _, s := range p.labels[:t.nparts] {
		if s == "" {
			return false
		}
	}
	return true
}

// expandQuery expands the query template for key, quoting every
// substituted value with q. ok is false when the key lacks what the
// template needs (no query is made).
func (t *templates) expandQuery(key string, q quoter) (query string, ok bool, err error) {
	if !t.keyApplies(key) {
		return "", false, nil
	}
	p := split(key)
	t.labels(&p)
	s, err := expand(t.query, p, p, q)
	return s, err == nil, err
}

// expandResult applies result_format to one result value of key. ok is
// false when the value is skipped (empty, or lacking what the format
// needs).
func (t *templates) expandResult(value, key string) (string, bool) {
	if value == "" {
		return "", false
	}
	v := split(value)
	if !t.applies(v, needValueDomain, needValueUser) {
		return "", false
	}
	k := split(key)
	if !t.applies(k, needKeyDomain, needKeyUser) || !t.labels(&k) {
		return "", false
	}
	s, _ := expand(t.result, v, k, nil)
	return s, true
}

// expand substitutes: lower case from v (the key for a query, the result
// for result_format), upper case and digits from k (always the key).
func expand(format string, v, k parts, q quoter) (string, error) {
	var b strings.Builder
	put := func(s string) error {
		if q == nil {
			b.WriteString(s)
			return nil
		}
		s, err := q(s)
		b.WriteString(s)
		return err
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		var err error
		switch c := format[i]; c {
		case '%':
			b.WriteByte('%')
		case 's':
			err = put(v.whole)
		case 'u':
			err = put(v.user)
		case 'd':
			err = put(v.domain)
		case 'S':
			err = put(k.whole)
		case 'U':
			err = put(k.user)
		case 'D':
			err = put(k.domain)
		default: // '1'-'9', validated by parseTemplate and keyApplies
			n := int(c - '1')
			if n < 0 || n >= len(k.labels) {
				return "", fmt.Errorf("template %q: no domain label %%%c", format, c)
			}
			err = put(k.labels[n])
		}
		if err != nil {
			return "", err
		}
	}
	return b.String(), nil
}
