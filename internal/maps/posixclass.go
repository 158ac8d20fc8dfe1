package maps

import (
	"fmt"
	"strings"
)

// byteSet is a POSIX bracket expression in the C locale: a set of bytes,
// ordered by byte value for ranges.
type byteSet [256]bool

func (s *byteSet) add(c byte) { s[c] = true }

func (s *byteSet) addRange(lo, hi byte) {
	for c := int(lo); c <= int(hi); c++ {
		s[c] = true
	}
}

func (s byteSet) not() byteSet {
	for c := range s {
		s[c] = !s[c]
	}
	return s
}

// posixClasses are the character classes of the C locale.
var posixClasses = map[string]string{
	"alpha": "A-Za-z", "upper": "A-Z", "lower": "a-z", "digit": "0-9",
	"xdigit": "0-9A-Fa-f", "alnum": "0-9A-Za-z", "space": " \t\n\v\f\r",
	"blank": " \t", "cntrl": "\x00-\x1f\x7f", "print": " -~", "graph": "!-~",
	"punct": "!-/:-@[-`{-~",
}

// classSet returns the members of a class; the table above lists ranges
// as "a-z" triples and single characters otherwise.
func classSet(name string) byteSet {
	var s byteSet
	spec := posixClasses[name]
	for i := 0; i < len(spec); i++ {
		if i+2 < len(spec) && spec[i+1] == '-' {
			s.addRange(spec[i], spec[i+2])
			i += 2
		} else {
			s.add(spec[i])
		}
	}
	return s
}

// bracket parses a bracket expression after "[".
func (p *posixParser) bracket() (byteSet, error) {
	var set byteSet
	neg := p.i < len(p.src) && p.src[p.i] == '^'
	if neg {
		p.i++
	}
	for first := true; ; first = false {
		if p.i >= len(p.src) {
			return set, errBracket
		}
		if p.src[p.i] == ']' && !first {
			p.i++
			break
		}
		lo, class, err := p.bracketElem()
		if err != nil {
			return set, err
		}
		isRange := p.i+1 < len(p.src) && p.src[p.i] == '-' && p.src[p.i+1] != ']'
		if class != nil {
			if isRange {
				return set, errRangeEnd
			}
			for c, in := range class {
				set[c] = set[c] || in
			}
			continue
		}
		if !isRange {
			set.add(lo)
			continue
		}
		p.i++
		hi, class, err := p.bracketElem()
		if err != nil {
			return set, err
		}
		if class != nil || hi < lo {
			return set, errRangeEnd
		}
		set.addRange(lo, hi)
	}
	if p.icase {
		// glibc folds the key, so a set matches both cases of its letters;
		// this happens before negation: [^a] excludes "A" too.
		for c := 'a'; c <= 'z'; c++ {
			either := set[c] || set[c-'a'+'A']
			set[c], set[c-'a'+'A'] = either, either
		}
	}
	if neg {
		set = set.not()
		if p.nl {
			set['\n'] = false
		}
	}
	return set, nil
}

// bracketElem reads one element: a byte, [.c.], [=c=] (both single
// characters in the C locale) or [:class:] (returned as class).
func (p *posixParser) bracketElem() (byte, *byteSet, error) {
	c := p.src[p.i]
	if c != '[' || p.i+1 >= len(p.src) || strings.IndexByte(":.=", p.src[p.i+1]) < 0 {
		p.i++
		return c, nil, nil
	}
	kind := p.src[p.i+1]
	end := strings.Index(p.src[p.i+2:], string(kind)+"]")
	if end < 0 {
		return 0, nil, errBracket
	}
	name := p.src[p.i+2 : p.i+2+end]
	p.i += 2 + end + 2
	if kind == ':' {
		if _, ok := posixClasses[name]; !ok {
			return 0, nil, errClassName
		}
		set := classSet(name)
		return 0, &set, nil
	}
	if len(name) != 1 {
		return 0, nil, errCollate
	}
	if kind == '=' {
		var set byteSet
		set.add(name[0])
		return 0, &set, nil
	}
	return name[0], nil, nil
}

// emitSet writes a set as an RE2 character class of runes U+0000..U+00FF.
func (p *posixParser) emitSet(s byteSet) {
	var b strings.Builder
	b.WriteByte('[')
	empty := true
	for c := 0; c < 256; {
		if !s[c] {
			c++
			continue
		}
		lo := c
		for c < 256 && s[c] {
			c++
		}
		fmt.Fprintf(&b, `\x{%x}-\x{%x}`, lo, c-1)
		empty = false
	}
	if empty {
		b.WriteString(`^\x00-\x{10FFFF}`) // an empty set matches nothing
	}
	b.WriteByte(']')
	p.emitAtom(b.String())
}
