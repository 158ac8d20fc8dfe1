package maps

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// regexp: tables use POSIX regular expressions (glibc regcomp() in the C
// locale, as Postfix daemons run with LANG=C). Go's regexp package is RE2,
// so each pattern is translated into an equivalent RE2 expression and run
// with leftmost-longest matching. Behaviour verified against postmap
// 3.7.11 (testdata/regexp.*, TestPOSIXSyntax):
//
//   - Flags are toggles: i (case-insensitive, default on), x (extended
//     syntax, default on; toggled off = basic regular expressions, BRE,
//     with \( \) \{ \} and GNU \| \+ \?), m (REG_NEWLINE, default off:
//     then "." and [^...] do not match a newline, ^ and $ match at line
//     boundaries).
//   - Matching is on bytes: "." matches one byte, non-ASCII bytes in the
//     key or the pattern are just bytes, [é] is a set of two bytes, and
//     case-insensitivity applies to ASCII letters only (É does not match
//     é). Keys are mapped byte-for-byte to runes U+0000..U+00FF for RE2.
//   - Bracket expressions are POSIX: "\" is literal inside [], "]" first is
//     literal, [:class:] names (C locale), [.c.] and [=c=] for single
//     characters; multi-character collating elements are errors.
//   - GNU escapes \w \W \s \S \b \B \` \' work; "\" + another character is
//     that character. glibc quirk reproduced: with the default i flag, an
//     escaped lower-case letter (\d, \n, \t, \y ...) never matches, an
//     escaped upper-case letter matches either case; without i, \d is "d".
//   - ERE accepts a repeated repetition (a**, a+?, a{1}{2}) as nested
//     repetition: "+?" is NOT a lazy quantifier. {,n} means {0,n}.
//   - Error messages are glibc's: "Invalid preceding regular expression",
//     "Unmatched ( or \\(", "Invalid content of \\{\\}", ...
//
// Differences that remain (RE2 cannot express them):
//
//   - back-references \1..\9 are rejected ("back-references are not
//     supported"), so the rule is skipped where Postfix would use it;
//   - repetition counts above 1000 are rejected (glibc allows 32767);
//   - \< and \> are treated as \b (a word boundary on either side);
//   - a group inside a repeated group may report another iteration: for
//     /b(b*)+*/ and "xbby" Postfix gives $1 = "", postern "b" (a random
//     differential run of 2000 patterns × 127 keys against postmap
//     differed only in such nested-repetition captures);
//   - glibc bugs are not reproduced: when the result uses $N, glibc finds
//     no match for /(^b?(a)+*|b){1,}a/ in "ba", RE2 does;
//   - RE2 runs in linear time, so patterns that make glibc backtrack
//     for seconds are fast here.
var posixDialect = &dialect{
	name: "regexp", secondary: true, closeVerb: "skipping", rangeWord: "out-of-range",
	bytes: true, flagChars: "imx", defFlags: "ix",
	compile: func(pat, flags string) (*regexp.Regexp, error) {
		return compilePOSIX(pat, strings.Contains(flags, "i"), strings.Contains(flags, "m"), strings.Contains(flags, "x"))
	},
	compileErr: func(err error) string { return err.Error() },
}

var (
	errPrecede    = errors.New("Invalid preceding regular expression")
	errParen      = errors.New("Unmatched ( or \\(")
	errBraceOpen  = errors.New("Unmatched \\{")
	errBraceBody  = errors.New("Invalid content of \\{\\}")
	errBracket    = errors.New("Unmatched [, [^, [:, [., or [=")
	errClassName  = errors.New("Invalid character class name")
	errRangeEnd   = errors.New("Invalid range end")
	errCollate    = errors.New("Invalid collation character")
	errBackRef    = errors.New("Invalid back reference")
	errTooBig     = errors.New("Regular expression too big")
	errBackRefRE2 = errors.New("back-references are not supported")
	errCountRE2   = errors.New("repetition counts above 1000 are not supported")
)

// posixParser translates one POSIX pattern into RE2 syntax.
type posixParser struct {
	src            string
	i              int
	ere, icase, nl bool
	out            []byte
	atom           int  // start of the last repeatable atom in out, -1 if none
	repeated       bool // the last atom already carries a repetition
	atStart        bool // BRE: start of the RE, after \( or \|
	groups         int
	closed         []bool // closed[n]: group n is complete (back-reference check)
	stack          []int  // open groups: their number
	stackAtom      []int  // open groups: their start in out
}

func compilePOSIX(pat string, icase, newline, extended bool) (*regexp.Regexp, error) {
	p := &posixParser{src: pat, ere: extended, icase: icase, nl: newline, atom: -1, atStart: true, closed: []bool{false}}
	if err := p.parse(); err != nil {
		return nil, err
	}
	prefix := "(?s)"
	if newline {
		prefix = "(?m)"
	}
	re, err := regexp.Compile(prefix + string(p.out))
	if err != nil {
		return nil, err
	}
	re.Longest()
	return re, nil
}

func (p *posixParser) parse() error {
	for p.i < len(p.src) {
		c := p.src[p.i]
		p.i++
		var err error
		switch {
		case c == '\\':
			err = p.escape()
		case c == '(' && p.ere:
			p.openGroup()
		case c == ')' && p.ere && len(p.stack) > 0:
			p.closeGroup()
		case c == '|' && p.ere:
			p.alternate()
		case c == '*' || p.ere && (c == '+' || c == '?'):
			if !p.ere && p.atom < 0 {
				p.literal(c) // BRE: a leading "*" is an ordinary character
				break
			}
			err = p.repeat(string(c))
		case c == '{' && p.ere:
			err = p.interval("}")
		case c == '^' && (p.ere || p.atStart):
			p.anchor("^")
		case c == '$' && (p.ere || p.breEnd()):
			p.anchor("$")
		case c == '.':
			p.emitAtom(".")
		case c == '[':
			var set byteSet
			if set, err = p.bracket(); err == nil {
				p.emitSet(set)
			}
		default:
			p.literal(c)
		}
		if err != nil {
			return err
		}
	}
	if len(p.stack) > 0 {
		return errParen
	}
	return nil
}

// breEnd reports whether a BRE "$" just consumed is an anchor: at the end
// of the RE or before \) or \|.
func (p *posixParser) breEnd() bool {
	rest := p.src[p.i:]
	return rest == "" || strings.HasPrefix(rest, `\)`) || strings.HasPrefix(rest, `\|`)
}

func (p *posixParser) escape() error {
	if p.i >= len(p.src) {
		return errors.New("Trailing backslash")
	}
	c := p.src[p.i]
	p.i++
	if !p.ere {
		switch c {
		case '(':
			p.openGroup()
			return nil
		case ')':
			if len(p.stack) == 0 {
				return errParen
			}
			p.closeGroup()
			return nil
		case '|':
			p.alternate()
			return nil
		case '{':
			return p.interval(`\}`)
		case '+', '?':
			if p.atom < 0 {
				p.literal(c)
				return nil
			}
			return p.repeat(string(c))
		}
	}
	switch {
	case c >= '1' && c <= '9':
		if n := int(c - '0'); n > p.groups || !p.closed[n] {
			return errBackRef
		}
		return errBackRefRE2
	case c == 'w' || c == 'W' || c == 's' || c == 'S':
		set := classSet(map[byte]string{'w': "alnum", 'W': "alnum", 's': "space", 'S': "space"}[c])
		if c == 'w' || c == 'W' {
			set.add('_')
		}
		if c == 'W' || c == 'S' {
			set = set.not()
		}
		p.emitSet(set)
	case c == 'b' || c == 'B':
		p.anchor(`\` + string(c))
	case c == '<' || c == '>':
		p.anchor(`\b`)
	case c == '`':
		p.anchor(`\A`)
	case c == '\'':
		p.anchor(`\z`)
	case p.icase && c >= 'a' && c <= 'z':
		p.emitAtom(`[^\x00-\x{10FFFF}]`) // glibc: never matches, see above
	default:
		p.literal(c)
	}
	return nil
}

func (p *posixParser) openGroup() {
	p.groups++
	p.closed = append(p.closed, false)
	p.stack = append(p.stack, p.groups)
	p.stackAtom = append(p.stackAtom, len(p.out))
	p.out = append(p.out, '(')
	p.atom, p.repeated, p.atStart = -1, false, true
}

func (p *posixParser) closeGroup() {
	n := len(p.stack) - 1
	p.closed[p.stack[n]] = true
	p.atom, p.repeated, p.atStart = p.stackAtom[n], false, false
	p.stack, p.stackAtom = p.stack[:n], p.stackAtom[:n]
	p.out = append(p.out, ')')
}

func (p *posixParser) alternate() {
	p.out = append(p.out, '|')
	p.atom, p.repeated, p.atStart = -1, false, true
}

func (p *posixParser) anchor(s string) {
	p.out = append(p.out, s...)
	p.atom, p.repeated = -1, false
	// A BRE "^" at the start keeps the start context: "^*" is a literal "*".
	p.atStart = p.atStart && s == "^"
}

func (p *posixParser) emitAtom(s string) {
	p.atom, p.repeated, p.atStart = len(p.out), false, false
	p.out = append(p.out, s...)
}

func (p *posixParser) literal(c byte) {
	switch {
	case p.icase && (c|0x20) >= 'a' && (c|0x20) <= 'z':
		p.emitAtom(fmt.Sprintf("[%c%c]", c|0x20, c&^0x20))
	case c < utf8.RuneSelf:
		p.emitAtom(regexp.QuoteMeta(string(rune(c))))
	default:
		p.emitAtom(fmt.Sprintf(`\x{%x}`, c))
	}
}
