package maps

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// regexp: and pcre: tables (regexp_table(5), pcre_table(5)) share the rule
// file format and differ in pattern syntax, flags and a few messages; a
// dialect captures the differences. Rules, measured with postmap 3.7.11
// (testdata/regexp.*):
//
//	/pattern/flags result      any non-alphanumeric delimiter; "\" escapes it
//	!/pattern/flags result     result when the pattern does NOT match
//	/pat1/!/pat2/ result       regexp: only — pat1 matches and pat2 does not
//	if [!]/pattern/flags ... endif   keywords case-insensitive, nestable
//
// The result may use $1..$N, ${N}, $(N) for matched groups and $$ for "$";
// a group that did not participate expands to nothing. First match wins.
// Bad rules are skipped with Postfix's warnings; an unclosed IF that does
// not match ends the search.
type reTable struct {
	base
	d     *dialect
	rules []reRule
	raw   func(msg string) // warns without the map prefix; used while parsing
}

type reRule struct {
	op            cidrOp // cidrMatch, cidrIf, cidrEndif
	first, second *regexp.Regexp
	firstMatch    bool
	secondMatch   bool
	repl          []replPart
	subs          bool // repl refers to groups
	end           int  // IF: index of matching ENDIF or -1
	line          int
	pattern       string // the rule's patterns as written, for Results
}

// replPart is literal text, or a group reference when group > 0.
type replPart struct {
	text  string
	group int
}

// dialect describes one regular expression table type.
type dialect struct {
	name       string // "regexp" or "pcre", used in messages
	secondary  bool   // "/a/!/b/" second pattern allowed
	closeVerb  string // "skipping" (regexp) or "ignoring" (pcre)
	rangeWord  string // wording for $0: "out-of-range" or "out of range"
	bytes      bool   // match bytes, not UTF-8 runes (see posix.go)
	flagChars  string // letters accepted after the closing delimiter
	defFlags   string // flags that are on by default
	compile    func(pat, flags string) (*regexp.Regexp, error)
	compileErr func(err error) string
}

func openRegexp(spec, path string, d *dialect) (Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, openError("open", path, err)
	}
	t := &reTable{base: base{spec: spec}, d: d}
	t.parse(path, string(data))
	return t, nil
}

func (t *reTable) parse(path, data string) {
	lines, w := logicalLines(path, data)
	prefix := func(n int) string { return fmt.Sprintf("%s map %s, line %d: ", t.d.name, path, n) }
	var open []int
	for _, ln := range lines {
		text := strings.TrimRight(ln.Text, spaceChars)
		if text == "" {
			continue
		}
		warn := func(msg string) { w.add(ln.Num, "%s%s", prefix(ln.Num), msg) }
		// mac_parse() syntax errors carry no map prefix in Postfix.
		t.raw = func(msg string) { w.add(ln.Num, "%s", msg) }
		r, ok := t.parseRule(text, len(open), warn)
		if !ok {
			continue
		}
		r.line = ln.Num
		switch r.op {
		case cidrIf:
			r.end = -1
			open = append(open, len(t.rules))
		case cidrEndif:
			t.rules[open[len(open)-1]].end = len(t.rules)
			open = open[:len(open)-1]
		}
		t.rules = append(t.rules, r)
	}
	t.warnings, t.raw = w.sorted(), nil
	for i := len(open) - 1; i >= 0; i-- {
		t.warnf("%sIF has no matching ENDIF", prefix(t.rules[open[i]].line))
	}
}

// parseRule parses one logical line; warn reports problems.
func (t *reTable) parseRule(p string, nesting int, warn func(string)) (reRule, bool) {
	switch {
	case !isAlnum(p[0]):
		return t.parseMatch(p, warn)
	case hasKeyword(p, "if"):
		p = strings.TrimLeft(p[2:], spaceChars)
		re, match, rest, ok := t.getPattern(p, warn)
		if !ok {
			return reRule{}, false
		}
		if rest = strings.TrimLeft(rest, spaceChars); rest != "" {
			warn(fmt.Sprintf("ignoring extra text after IF statement: \"%s\"", rest))
			warn("do not prepend whitespace to statements between IF and ENDIF")
		}
		first, ok := t.compile(re, warn)
		return reRule{op: cidrIf, first: first, firstMatch: match}, ok
	case hasKeyword(p, "endif"):
		if nesting == 0 {
			warn("ignoring ENDIF without matching IF")
			return reRule{}, false
		}
		if strings.TrimLeft(p[5:], spaceChars) != "" {
			warn("ignoring extra text after ENDIF")
		}
		return reRule{op: cidrEndif}, true
	}
	warn("ignoring unrecognized request")
	return reRule{}, false
}

func (t *reTable) parseMatch(p string, warn func(string)) (reRule, bool) {
	orig := p
	re1, match1, p, ok := t.getPattern(p, warn)
	if !ok {
		return reRule{}, false
	}
	var re2 *pendingRE
	match2 := true
	if t.d.secondary && strings.HasPrefix(p, "!") {
		var pat2 pendingRE
		if pat2, match2, p, ok = t.getPattern(p, warn); !ok {
			return reRule{}, false
		}
		re2 = &pat2
	}
	p = strings.TrimLeft(p, spaceChars)
	if p == "" {
		warn("no replacement text: using empty string")
	}
	repl, maxSub, err := parseReplacement(p, t.d.rangeWord)
	if err != nil {
		if _, syntax := err.(macroError); syntax {
			t.raw(err.Error())
		} else {
			warn(err.Error())
		}
		warn("bad replacement syntax: skipping this rule")
		return reRule{}, false
	}
	if maxSub > 0 && !match1 {
		warn("$number found in negative match replacement text: skipping this rule")
		return reRule{}, false
	}
	r := reRule{op: cidrMatch, firstMatch: match1, secondMatch: match2, repl: repl, subs: maxSub > 0,
		pattern: strings.TrimRight(orig[:len(orig)-len(p)], spaceChars)}
	if r.first, ok = t.compile(re1, warn); !ok {
		return reRule{}, false
	}
	if maxSub > r.first.NumSubexp() {
		warn(fmt.Sprintf("out of range replacement index \"%d\": skipping this rule", maxSub))
		return reRule{}, false
	}
	if re2 != nil {
		if r.second, ok = t.compile(*re2, warn); !ok {
			return reRule{}, false
		}
	}
	return r, true
}

// pendingRE is a pattern and its flags, not yet compiled.
type pendingRE struct{ pat, flags string }

// getPattern takes "[!...]<d>pattern<d>flags" from the start of p.
func (t *reTable) getPattern(p string, warn func(string)) (re pendingRE, match bool, rest string, ok bool) {
	match = true
	for p != "" && (p[0] == '!' || isSpace(p[0])) {
		if p[0] == '!' {
			match = !match
		}
		p = p[1:]
	}
	if p == "" {
		warn("no regexp: skipping this rule")
		return re, match, "", false
	}
	delim, i := p[0], 1
	for ; i < len(p) && p[i] != delim; i++ {
		if p[i] == '\\' {
			if i+1 == len(p) {
				i = len(p)
				break
			}
			i++
		}
	}
	if i >= len(p) {
		warn(fmt.Sprintf("no closing regexp delimiter \"%c\": %s this rule", delim, t.d.closeVerb))
		return re, match, "", false
	}
	re.pat, p = p[1:i], p[i+1:]
	j := 0
	for ; j < len(p) && !isSpace(p[j]) && !(t.d.secondary && p[j] == '!'); j++ {
		if strings.IndexByte(t.d.flagChars, p[j]) < 0 {
			warn(fmt.Sprintf("unknown regexp option \"%c\": skipping this rule", p[j]))
			return re, match, "", false
		}
	}
	re.flags = toggleFlags(t.d.defFlags, p[:j])
	return re, match, p[j:], true
}

func (t *reTable) compile(re pendingRE, warn func(string)) (*regexp.Regexp, bool) {
	c, err := t.d.compile(re.pat, re.flags)
	if err != nil {
		warn(t.d.compileErr(err))
		return nil, false
	}
	return c, true
}

func (t *reTable) Lookup(key string) (string, bool, error) {
	k := key
	if t.d.bytes {
		k = toLatin1(key)
	}
	for i := 0; i < len(t.rules); i++ {
		r := &t.rules[i]
		switch r.op {
		case cidrMatch:
			var loc []int
			if r.subs {
				loc = r.first.FindStringSubmatchIndex(k)
				if loc == nil {
					continue
				}
			} else if r.first.MatchString(k) != r.firstMatch {
				continue
			}
			if r.second != nil && r.second.MatchString(k) != r.secondMatch {
				continue
			}
			return t.expand(r.repl, k, loc), true, nil
		case cidrIf:
			if r.first.MatchString(k) == r.firstMatch {
				continue
			}
			if r.end < 0 {
				return "", false, nil
			}
			i = r.end
		}
	}
	return "", false, nil
}

func (t *reTable) Pattern() bool { return true }
