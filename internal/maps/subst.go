package maps

import (
	"fmt"
	"strconv"
	"strings"
)

// parseReplacement splits a regexp/pcre result into literal text and $N
// group references with the rules of Postfix's mac_parse(): "$$" is "$";
// "$name" takes letters, digits and "_" (so "$1y" names "1y" and is
// rejected: write "${1}y"); "${...}" and "$(...)" take everything up to
// the matching bracket. Every name must be a number of at least 1.
// rangeWord is the dialect's wording for "$0" (regexp and pcre differ).
// maxSub is the highest group referenced.
func parseReplacement(s, rangeWord string) (parts []replPart, maxSub int, err error) {
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			parts = append(parts, replPart{text: string(lit)})
			lit = nil
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '$' {
			lit = append(lit, s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			lit = append(lit, '$')
			i += 2
			continue
		}
		i++
		var name string
		if i < len(s) && (s[i] == '{' || s[i] == '(') {
			open, close := s[i], byte('}')
			if open == '(' {
				close = ')'
			}
			level, j := 1, i+1
			for ; j < len(s) && level > 0; j++ {
				switch s[j] {
				case open:
					level++
				case close:
					level--
				}
			}
			if level > 0 {
				return nil, 0, macroError(fmt.Sprintf("truncated macro reference: \"%s\"", s))
			}
			name, i = s[i+1:j-1], j
		} else {
			j := i
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
				j++
			}
			name, i = s[i:j], j
		}
		if name == "" {
			return nil, 0, macroError(fmt.Sprintf("empty macro name: \"%s\"", s))
		}
		n, ok := replIndex(name)
		if !ok {
			return nil, 0, fmt.Errorf("non-numeric replacement index \"%s\"", name)
		}
		if n < 1 {
			return nil, 0, fmt.Errorf("%s replacement index \"%s\"", rangeWord, name)
		}
		flush()
		parts = append(parts, replPart{group: n})
		maxSub = max(maxSub, n)
	}
	flush()
	return parts, maxSub, nil
}

// macroError is a syntax error that Postfix's mac_parse() reports itself,
// without the table name.
type macroError string

func (e macroError) Error() string { return string(e) }

// replIndex is alldig() followed by atoi(); huge numbers saturate so
// that they fail the group-count check instead of wrapping.
func replIndex(name string) (int, bool) {
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(name)
	if err != nil {
		n = 1 << 30
	}
	return n, true
}

func (t *reTable) expand(repl []replPart, k string, loc []int) string {
	var b strings.Builder
	for _, p := range repl {
		if p.group == 0 {
			b.WriteString(p.text)
		} else if s, e := loc[2*p.group], loc[2*p.group+1]; s >= 0 {
			if t.d.bytes {
				b.WriteString(fromLatin1(k[s:e]))
			} else {
				b.WriteString(k[s:e])
			}
		}
	}
	return b.String()
}

// toggleFlags applies each flag letter as a toggle, as Postfix's ^=.
func toggleFlags(def, letters string) string {
	on := map[byte]bool{}
	for i := 0; i < len(def); i++ {
		on[def[i]] = true
	}
	for i := 0; i < len(letters); i++ {
		on[letters[i]] = !on[letters[i]]
	}
	var b []byte
	for c, v := range on {
		if v {
			b = append(b, c)
		}
	}
	return string(b)
}
