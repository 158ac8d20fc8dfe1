package maps

import (
	"fmt"
	"regexp"
	"strings"
)

// pcre: tables have the regexp: rule format (no "/a/!/b/" second pattern)
// with Perl-style patterns, matched by Go's RE2 with Perl (leftmost-first)
// semantics on UTF-8 text. Postfix's PCRE flags are toggles: i (caseless,
// default on), s (dot matches newline, default on), m (multi-line), x
// (ignore whitespace and #-comments outside classes), U (ungreedy), A
// (anchored at the start), X (accepted, no effect: RE2 already rejects
// unknown escapes), E (accepted: "$" already means end of subject).
//
// Where this differs from PCRE (pcre(3) / pcre2pattern(3)):
//
//   - no back-references, lookahead/lookbehind, atomic groups, possessive
//     quantifiers, recursion, \K, \R, \h, \X, \C, callouts or (*VERB)s:
//     such patterns are reported as errors and the rule is skipped;
//   - without m, "$" matches only at the very end (PCRE also matches
//     before a final newline unless E is set), and \Z is not available;
//   - case-insensitive matching and \w, \d, \s follow Go: (?i) folds
//     Unicode, \w \d \s are ASCII-only;
//   - errors name the problem, not PCRE's offset ("error in regex: ...").
var pcreDialect = &dialect{
	name: "pcre", secondary: false, closeVerb: "ignoring", rangeWord: "out of range",
	bytes: false, flagChars: "imsxAEUX", defFlags: "is",
	compile:    compilePCRE,
	compileErr: func(err error) string { return "error in regex: " + err.Error() },
}

func compilePCRE(pat, flags string) (*regexp.Regexp, error) {
	var prefix strings.Builder
	for _, f := range "imsU" {
		if strings.ContainsRune(flags, f) {
			fmt.Fprintf(&prefix, "(?%c)", f)
		}
	}
	if strings.Contains(flags, "x") {
		pat = stripExtended(pat)
	}
	if strings.Contains(flags, "A") {
		pat = `\A(?:` + pat + `)`
	}
	return regexp.Compile(prefix.String() + pat)
}

// stripExtended implements PCRE's x flag, which RE2 lacks: whitespace and
// "#" comments outside character classes are removed, escaped whitespace
// becomes a literal.
func stripExtended(pat string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat):
			i++
			if isSpace(pat[i]) {
				fmt.Fprintf(&b, `\x{%x}`, pat[i])
			} else {
				b.WriteByte(c)
				b.WriteByte(pat[i])
			}
			continue
		case inClass:
			if c == '[' && i+1 < len(pat) && pat[i+1] == ':' {
				if end := strings.Index(pat[i:], ":]"); end > 0 {
					b.WriteString(pat[i : i+end+2])
					i += end + 1
					continue
				}
			}
			inClass = c != ']'
		case c == '[':
			inClass = true
			b.WriteByte(c)
			// A "]" right after "[" or "[^" is a literal member.
			if i+1 < len(pat) && pat[i+1] == '^' {
				i++
				b.WriteByte('^')
			}
			if i+1 < len(pat) && pat[i+1] == ']' {
				i++
				b.WriteString(`\]`)
			}
			continue
		case isSpace(c):
			continue
		case c == '#':
			for i < len(pat) && pat[i] != '\n' {
				i++
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
