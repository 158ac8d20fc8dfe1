package maps

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// inline:{ key=value, { key = text with spaces } } — Postfix 3.0+
// dict_inline. Measured with postmap 3.7.11:
//
//   - the name must be exactly one balanced {...}, else `bad syntax: ...`;
//   - elements are separated by commas and/or whitespace; an element
//     starting with "{" is one brace-balanced unit whose braces and
//     surrounding whitespace are stripped, so only that form may contain
//     spaces ("{ a b = c }" still fails: the key ends at the first space);
//   - "key=value" splits at the first "=", whitespace around it allowed
//     inside braces; "=v" stores the empty key, "k=" the empty value;
//   - a later duplicate replaces an earlier one (unlike texthash);
//   - keys fold to lower case.
type inline struct {
	base
	m     map[string]string
	order []string
}

func openInline(spec, name string) (Table, error) {
	bad := func(why string) error {
		return fmt.Errorf("%s: \"inline:%s\"; need \"inline:{name=value...}\"", why, name)
	}
	if !utf8.ValidString(name) {
		return nil, bad("bad UTF-8 syntax")
	}
	if n := balpar(name); n == 0 || n != len(name) || n == 2 {
		return nil, bad("bad syntax")
	}
	t := &inline{base: base{spec: spec}, m: map[string]string{}}
	rest := name[1 : len(name)-1]
	for {
		tok, ok := nextToken(&rest, ", \t\r\n", '{', '}')
		if !ok {
			break
		}
		if tok[0] == '{' {
			inner, err := extpar(tok)
			if err != nil {
				return nil, bad(err.Error())
			}
			if inner == "" {
				return nil, bad("no key found; expected format: key = value")
			}
			tok = inner
		}
		k, v, err := splitNameval(tok)
		if err != nil {
			return nil, bad(err.Error())
		}
		k = foldKey(k)
		if _, dup := t.m[k]; !dup {
			t.order = append(t.order, k)
		}
		t.m[k] = v
	}
	if len(t.m) == 0 {
		return nil, bad("empty table")
	}
	return t, nil
}

func (t *inline) Lookup(key string) (string, bool, error) {
	v, ok := t.m[foldKey(key)]
	return v, ok, nil
}

func (t *inline) each(fn func(key, value string) error) error {
	for _, k := range t.order {
		if err := fn(k, t.m[k]); err != nil {
			return err
		}
	}
	return nil
}

// splitNameval is Postfix's split_nameval(): the name ends at whitespace
// or "=", which must follow (after optional whitespace); the value is
// the rest without surrounding whitespace. Unlike main.cf parsing, an
// empty name before "=" is accepted, as postmap accepts "inline:{=v}".
func splitNameval(s string) (name, value string, err error) {
	s = strings.TrimLeft(s, spaceChars)
	if s == "" {
		return "", "", fmt.Errorf("missing attribute name")
	}
	i := strings.IndexAny(s, "="+spaceChars)
	if i < 0 {
		i = len(s)
	}
	name, rest := s[:i], strings.TrimLeft(s[i:], spaceChars)
	if rest == "" || rest[0] != '=' {
		return "", "", fmt.Errorf("missing '=' after attribute name")
	}
	return name, strings.Trim(rest[1:], spaceChars), nil
}

// balpar returns the length of the balanced {...} group at the start of
// s, or 0 when s does not start with "{" or the group is not closed.
func balpar(s string) int {
	if s == "" || s[0] != '{' {
		return 0
	}
	level := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			level++
		case '}':
			if level--; level == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// nextToken is Postfix's mystrtokq(): skip separators, then take text up
// to the next separator outside braces.
func nextToken(s *string, sep string, open, close byte) (string, bool) {
	t := strings.TrimLeft(*s, sep)
	if t == "" {
		*s = ""
		return "", false
	}
	level, i := 0, 0
	for ; i < len(t); i++ {
		c := t[i]
		if c == open {
			level++
		} else if c == close && level > 0 {
			level--
		} else if level == 0 && strings.IndexByte(sep, c) >= 0 {
			break
		}
	}
	*s = t[i:]
	return t[:i], true
}

// extpar is Postfix's extpar() with EXTPAR_FLAG_STRIP: s must be one
// balanced {...} group; the result is its content without surrounding
// whitespace.
func extpar(s string) (string, error) {
	n := balpar(s)
	if n == 0 {
		return "", fmt.Errorf("missing '}' in \"%s\"", s)
	}
	if n != len(s) {
		return "", fmt.Errorf("syntax error after '}' in \"%s\"", s)
	}
	return strings.Trim(s[1:n-1], spaceChars), nil
}

// static:value and static:{text} find the same value for every key.
type static struct {
	base
	value string
}

func openStatic(spec, name string) (Table, error) {
	value := name
	if name[0] == '{' {
		v, err := extpar(name)
		if err != nil {
			return nil, fmt.Errorf("bad static:name syntax: %v", err)
		}
		value = v
	}
	return &static{base: base{spec: spec}, value: value}, nil
}

func (t *static) Lookup(string) (string, bool, error) { return t.value, true, nil }
