package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxNesting bounds recursive expansion; beyond it a value is treated as a
// reference loop (Postfix: "unreasonable macro call nesting").
const maxNesting = 100

// ErrMacro is returned (wrapped) when a value has a syntax error or a
// reference loop; Postfix calls this "macro processing error".
var ErrMacro = errors.New("macro processing error")

// LookupFunc returns the raw value of a parameter and whether it is defined.
type LookupFunc func(name string) (value string, ok bool)

// Expander evaluates Postfix's $name expressions.
type Expander struct {
	Lookup LookupFunc
	// Recurse expands $name in looked-up values (what every Postfix program
	// does for main.cf parameters).
	Recurse bool
	// Scan walks every branch without producing output, to find references.
	Scan bool
	// Warn receives syntax warnings, worded as Postfix words them.
	Warn func(msg string)
	// Undefined is called for each reference to an undefined name.
	Undefined func(name string)
	// Referenced is called for each name looked up.
	Referenced func(name string)

	level  int // Postfix's per-context nesting counter
	depth  int // global recursion bound
	failed bool
}

// Expand expands s with the given lookup, recursively. Syntax warnings are
// folded into the returned error.
func Expand(s string, lookup LookupFunc) (string, error) {
	var msgs []string
	e := &Expander{Lookup: lookup, Recurse: true, Warn: func(m string) { msgs = append(msgs, m) }}
	out, err := e.Expand(s)
	if err != nil && len(msgs) > 0 {
		return out, fmt.Errorf("%s: %w", strings.Join(msgs, "; "), err)
	}
	return out, err
}

// Expand evaluates s. The error wraps ErrMacro after a syntax error or loop.
func (e *Expander) Expand(s string) (string, error) {
	e.level, e.depth, e.failed = 0, 0, false
	var b strings.Builder
	e.parse(&b, s)
	if e.failed {
		return "", ErrMacro
	}
	return b.String(), nil
}

// References returns every name s refers to in any branch.
func References(s string) []string {
	var names []string
	e := &Expander{Lookup: func(string) (string, bool) { return "", false }, Scan: true,
		Referenced: func(n string) { names = append(names, n) }}
	_, _ = e.Expand(s)
	return names
}

func (e *Expander) fail(format string, args ...any) {
	if e.Warn != nil {
		e.Warn(fmt.Sprintf(format, args...))
	}
	e.failed = true
}

// parse splits s into literal text and macro references (mac_parse). Like
// Postfix, it keeps going after a callback fails, so that later tokens
// still report nesting problems; truncated and empty names stop it.
func (e *Expander) parse(b *strings.Builder, s string) {
	var lit strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			lit.WriteByte('$')
			i += 2
			continue
		}
		if lit.Len() > 0 {
			e.callback(b, false, lit.String())
			lit.Reset()
		}
		i++
		var name string
		if i < len(s) && (s[i] == '{' || s[i] == '(') {
			open, close := s[i], byte('}')
			if open == '(' {
				close = ')'
			}
			level, j := 1, i+1
			for level > 0 {
				if j >= len(s) {
					e.fail("truncated macro reference: \"%s\"", s)
					return
				}
				switch s[j] {
				case open:
					level++
				case close:
					level--
				}
				j++
			}
			name, i = s[i+1:j-1], j
		} else {
			j := i
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			name, i = s[i:j], j
		}
		if name == "" {
			e.fail("empty macro name: \"%s\"", s)
			return
		}
		e.callback(b, true, name)
	}
	if lit.Len() > 0 && !e.failed {
		e.callback(b, false, lit.String())
	}
}

// callback handles one token with Postfix's nesting counter: it counts
// literal tokens too, and is not decremented when a macro fails early.
func (e *Expander) callback(b *strings.Builder, isMacro bool, text string) {
	if e.level > maxNesting {
		e.fail("unreasonable macro call nesting: \"%s\"", text)
	}
	e.level++
	if e.failed {
		return
	}
	if !isMacro {
		if !e.Scan {
			b.WriteString(text)
		}
		e.level--
		return
	}
	// A second, global bound: relational operands start a fresh counter
	// in Postfix (and can loop forever there); here they cannot.
	e.depth++
	early := e.macro(b, text)
	e.depth--
	if !early {
		e.level--
	}
}

func isNameChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

const exprSpace = " \t\r\n"

func skipSpace(s string) string { return strings.TrimLeft(s, exprSpace) }

// curly extracts a balanced {payload} from s (which starts with '{') and
// returns it with the rest after trailing whitespace.
func (e *Expander) curly(s string) (payload, rest string, ok bool) {
	level := 1
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '{':
			level++
		case '}':
			if level--; level == 0 {
				return s[1:j], skipSpace(s[j+1:]), true
			}
		}
	}
	e.fail("unbalanced {} in attribute expression: \"%s\"", s)
	return "", "", false
}

func trunc20(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

// macro evaluates one ${...} body or $name (mac_expand_callback). It
// reports whether it stopped early on an error, as Postfix's early returns
// skip the nesting counter's decrement.
func (e *Expander) macro(b *strings.Builder, body string) (early bool) {
	if e.depth > 10*maxNesting {
		e.fail("unreasonable macro call nesting: \"%s\"", body)
		return true
	}
	var (
		value   string
		defined bool
		cp      string
		op      byte
	)
	if t := skipSpace(body); strings.HasPrefix(t, "{") {
		var ok bool
		if value, cp, ok = e.relational(t); !ok {
			return true
		}
		defined = true
		if cp != "" {
			if cp[0] != '?' && cp[0] != ':' {
				e.fail("\"?\" or \":\" expected at: \"...}>>>%s\"", trunc20(cp))
				return true
			}
			op, cp = cp[0], cp[1:]
		}
	} else {
		name := ""
		for i := 0; ; i++ {
			rest := skipSpace(t[i:])
			if rest == "" {
				name = t[:i]
				break
			}
			if rest[0] == '?' || rest[0] == ':' {
				name, op, cp = t[:i], rest[0], rest[1:]
				break
			}
			if !isNameChar(t[i]) {
				e.fail("attribute name syntax error at: \"...%s>>>%s\"", body[:len(body)-len(t)+i], trunc20(t[i:]))
				return true
			}
		}
		if e.Referenced != nil {
			e.Referenced(name)
		}
		value, defined = e.Lookup(name)
		if !defined && e.Undefined != nil && !e.Scan {
			e.Undefined(name)
		}
	}
	nonEmpty := defined && value != ""
	switch op {
	case '?':
		var ifTrue string
		if t := skipSpace(cp); strings.HasPrefix(t, "{") {
			var ok bool
			if ifTrue, cp, ok = e.curly(t); !ok {
				return true
			}
		} else {
			ifTrue, cp = cp, ""
		}
		if nonEmpty || e.Scan {
			e.parse(b, ifTrue)
		}
		if cp == "" {
			return false
		}
		if cp[0] != ':' {
			e.fail("\":\" expected at: \"...%s}>>>%s\"", ifTrue, trunc20(cp))
			return true
		}
		cp = cp[1:]
		fallthrough
	case ':':
		var ifFalse string
		if t := skipSpace(cp); strings.HasPrefix(t, "{") {
			var ok bool
			if ifFalse, cp, ok = e.curly(t); !ok {
				return true
			}
		} else {
			ifFalse, cp = cp, ""
		}
		if !nonEmpty || e.Scan {
			e.parse(b, ifFalse)
		}
		if cp != "" {
			e.fail("unexpected input at: \"...%s}>>>%s\"", ifFalse, trunc20(cp))
			return true
		}
	default:
		switch {
		case !nonEmpty || e.Scan:
		case e.Recurse:
			e.parse(b, value)
		default:
			b.WriteString(value)
		}
	}
	return false
}

// relational evaluates `{a} OP {b}` at the start of s and returns "true" or
// "" and the text after the right operand.
func (e *Expander) relational(s string) (result, rest string, ok bool) {
	left, cp, ok := e.curly(s)
	if !ok {
		return "", "", false
	}
	n := 0
	for n < len(cp) && strings.IndexByte("<>!=?+-*/~&|%", cp[n]) >= 0 {
		n++
	}
	op := cp[:n]
	if !validRelop(op) {
		e.fail("%s expected at: \"...%s}>>>%s\"", relopsExpected, left, trunc20(cp))
		return "", "", false
	}
	cp = cp[n:]
	suffix := ""
	if cp != "" && isAlnum(cp[0]) {
		k := 1
		for k < len(cp) && isAlnum(cp[k]) {
			k++
		}
		suffix, cp = cp[:k], cp[k:]
		if suffix != "level" {
			e.fail("bad operator suffix at: \"...%s>>>%s\"", op, suffix)
			return "", "", false
		}
	}
	t := skipSpace(cp)
	if !strings.HasPrefix(t, "{") {
		e.fail("\"{expression}\" expected at: \"...{%s} %s>>>%s\"", left, op+suffix, trunc20(cp))
		return "", "", false
	}
	right, cp, ok := e.curly(t)
	if !ok {
		return "", "", false
	}
	lv := e.sub(left)
	rv := e.sub(right)
	if e.failed {
		return "", "", false
	}
	if e.Scan {
		return "", cp, true
	}
	var delta int
	if suffix == "level" {
		l, err := ParseCompatLevel(lv)
		if err != nil {
			e.fail("%v", err)
			return "", "", false
		}
		r, err := ParseCompatLevel(rv)
		if err != nil {
			e.fail("%v", err)
			return "", "", false
		}
		delta = l.Compare(r)
	} else {
		var err error
		if delta, err = compareValues(lv, rv); err != nil {
			e.fail("%v", err)
			return "", "", false
		}
	}
	if relopHolds(op, delta) {
		return "true", cp, true
	}
	return "", cp, true
}

// sub expands an operand as Postfix does: in a fresh context (its own
// nesting counter and error state) whose failure is then merged in.
func (e *Expander) sub(s string) string {
	var b strings.Builder
	level, failed := e.level, e.failed
	e.level, e.failed = 0, false
	e.parse(&b, s)
	e.level, e.failed = level, failed || e.failed
	return b.String()
}

const relopsExpected = `"==" or "!="" or "<"" or "<="" or ">="" or ">"`

func validRelop(op string) bool {
	switch op {
	case "==", "!=", "<", "<=", ">=", ">":
		return true
	}
	return false
}

func relopHolds(op string, delta int) bool {
	switch op {
	case "==":
		return delta == 0
	case "!=":
		return delta != 0
	case "<":
		return delta < 0
	case "<=":
		return delta <= 0
	case ">=":
		return delta >= 0
	default:
		return delta > 0
	}
}

func isAlnum(c byte) bool { return isNameChar(c) && c != '_' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareValues compares numerically when both sides are all digits, else
// as strings, as Postfix does; a number beyond int64 is an error there.
func compareValues(a, b string) (int, error) {
	if !allDigits(a) || !allDigits(b) {
		return strings.Compare(a, b), nil
	}
	x, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("mac_exp_eval: bad conversion: %s", a)
	}
	y, err := strconv.ParseInt(b, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("mac_exp_eval: bad conversion: %s", b)
	}
	switch {
	case x < y:
		return -1, nil
	case x > y:
		return 1, nil
	}
	return 0, nil
}
