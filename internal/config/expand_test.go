package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Every expected value and warning below was produced by Postfix 3.7.11
// `postconf -xh` with expandEnv in main.cf and the input as a parameter's
// value (outputs with whitespace were checked inside [...]). A "// BUG:"
// row is postconf's answer where postern differs today.

var expandEnv = map[string]string{
	"a": "x", "empty": "", "set": "1", "b": "inner", "chain": "x$b", "dollar": "$$b",
	"self": "$self", "p1": "x$p2", "p2": "y$p1", "q1": "$q2", "q2": "$q1",
}

var expandCases = []struct{ in, want string }{
	{"$a", "x"}, {"${a}", "x"}, {"$(a)", "x"}, {"$$", "$"}, {"$$a", "$a"}, {"$$$a", "$x"},
	{"pre$a.post", "prex.post"}, {"${a}extra", "xextra"}, {"$aextra", ""},
	{"$nope", ""}, {"mx.$nope.$a", "mx..x"}, {"$chain", "xinner"}, {"$dollar", "$b"},
	{"${a?text}", "text"}, {"${empty?text}", ""}, {"${nope?text}", ""}, {"${a?{text}}", "text"},
	{"${a:text}", ""}, {"${empty:text}", "text"}, {"${nope:text}", "text"}, {"${nope:{text}}", "text"},
	{"${a?{yes}:{no}}", "yes"}, {"${empty?{yes}:{no}}", "no"}, {"${nope?{yes}:{no}}", "no"},
	{"${a?{yes}:no}", "yes"}, {"${empty?{yes}:no}", "no"},
	{"${set?[smtp.example.com]:587}", "[smtp.example.com]:587"},
	{"${empty?[smtp.example.com]:587}", ""}, {"${nope:[smtp.example.com]:587}", "[smtp.example.com]:587"},
	{"$(a?b)", "b"}, {"$(nope:b)", "b"}, {"$(a?(b))", "(b)"},
	{"[${ a ? { yes } : { no } }]", "[ yes ]"}, {"[${a? yes }]", "[ yes ]"}, {"[${nope: yes }]", "[ yes ]"},
	{"[${empty?{yes}: no }]", "[ no ]"}, {"[${a?{ spaced }}]", "[ spaced ]"},
	{"${a?{$b}}", "inner"}, {"${a?$b}", "inner"}, {"${a?{${set?{deep}}}}", "deep"},
	{"${a?}", ""}, {"${nope:}", ""}, {"${nope?:}", ""}, {"${ }", ""},
	{"${self?{loop}}", "loop"}, {"x${empty:{$empty}}", "x"}, {"${a?{x}}junk", "xjunk"},
	// Relational operators: numeric when both sides are all digits.
	{"${{a} == {a}}", "true"}, {"${{a} == {b}}", ""}, {"${{a} != {b}}", "true"},
	{"${{10} < {9}}", ""}, {"${{10} < {9x}}", "true"}, {"${{9} < {10}}", "true"},
	{"${{10} > {9}}", "true"}, {"${{10} <= {10}}", "true"}, {"${{10} >= {11}}", ""},
	{"${{abc} < {abd}}", "true"}, {"${{010} == {10}}", "true"}, {"${{} == {}}", "true"},
	{"${{} < {0}}", "true"}, {"${{-1} < {2}}", "true"}, {"${{ 10 } < { 9 }}", "true"},
	{"${{ a } == { a }}", "true"}, {"${{ a } == {a}}", ""}, {"${{+3} == {3}}", ""},
	{"${{4294967296} > {1}}", "true"}, {"${{9223372036854775807} > {1}}", "true"},
	{"${{$a} == {x} ? {t} : {f}}", "t"}, {"${{$chain} == {xinner}}", "true"},
	{"${{a} == {a} ? {t} : {f}}", "t"}, {"${{a} == {b} ? {t} : {f}}", "f"},
	{"${{a} == {b} ? {t}}", ""}, {"${{a} == {a} ? {t}}", "t"},
	{"${{a} == {b} : {f}}", "f"}, {"${{a} == {a} : {f}}", ""},
	{"${ {a} == {a} ? {t} : {f} }", "t"}, {"${{a}=={a}?{t}:{f}}", "t"}, {"${{a}  ==  {b}}", ""},
	{"[${{a} == {a} ? t }]", "[ t ]"}, {"[${{a} == {b} ? {t} : f }]", "[ f ]"},
	{"${{a} == {b} ?}", ""}, {"${{a} == {b} :}", ""}, {"${{a} == {b} ? : {y}}", ""},
	{"${{3.10} > {3.6}}", ""}, {"${{3.10} >level {3.6}}", "true"}, {"${{1} ==level {1.0}}", "true"},
	{"${{3.6} ==level {3.6.0}}", "true"}, {"${{01} ==level {1}}", "true"}, {"${{3.06} ==level {3.6}}", "true"},
	{"${{1.1023} <level {2}}", "true"}, {"${{4294967296} <level {1}}", ""},
	{"${{8796093022207} >level {2}}", "true"},
	// Postfix reads level parts with strtoul: leading blanks and a sign.
	{"${{ 3} <level {4}}", "true"}, {"${{3} <level {+4}}", "true"}, {"${{-0} <level {1}}", "true"},
	{"${{3. 1} <level {4}}", "true"}, {"${{3.+1} <level {4}}", "true"},
}

var expandErrCases = []struct {
	in    string
	warns []string
}{
	{"${mydomain", []string{`truncated macro reference: "${mydomain"`}},
	{"${a?{x}", []string{`truncated macro reference: "${a?{x}"`}},
	{"$(a", []string{`truncated macro reference: "$(a"`}},
	{"${a)", []string{`truncated macro reference: "${a)"`}},
	{"$(a}", []string{`truncated macro reference: "$(a}"`}},
	{"${{a} == {b}", []string{`truncated macro reference: "${{a} == {b}"`}},
	{"x$ y", []string{`empty macro name: "x$ y"`}},
	{"$", []string{`empty macro name: "$"`}}, {"x$", []string{`empty macro name: "x$"`}},
	{"$-x", []string{`empty macro name: "$-x"`}},
	{"${}", []string{`empty macro name: "${}"`}}, {"$()", []string{`empty macro name: "$()"`}},
	{"${my-domain}", []string{`attribute name syntax error at: "...my>>>-domain"`}},
	{"${a b}", []string{`attribute name syntax error at: "...a>>> b"`}},
	{"${a.b}", []string{`attribute name syntax error at: "...a>>>.b"`}},
	{"$((a))", []string{`attribute name syntax error at: "...>>>(a)"`}},
	{"${a b}${c d}", []string{`attribute name syntax error at: "...a>>> b"`}},
	{"${a?{x}junk}", []string{`":" expected at: "...x}>>>junk"`}},
	{"${a?{x} junk}", []string{`":" expected at: "...x}>>>junk"`}},
	{"${a?{x}?{z}}", []string{`":" expected at: "...x}>>>?{z}"`}},
	{"${empty?{x}:{y}junk}", []string{`unexpected input at: "...y}>>>junk"`}},
	{"${empty?{x}:{y} junk}", []string{`unexpected input at: "...y}>>>junk"`}},
	{"${nope:{y}junk}", []string{`unexpected input at: "...y}>>>junk"`}},
	{"${nope:{y}:{z}}", []string{`unexpected input at: "...y}>>>:{z}"`}},
	{"${{a} == {b}junk}", []string{`"?" or ":" expected at: "...}>>>junk"`}},
	{"${{a} == {b} junk}", []string{`"?" or ":" expected at: "...}>>>junk"`}},
	{"${{a} == {b} ? {x} junk}", []string{`":" expected at: "...x}>>>junk"`}},
	{"${{a} == {b} ? {x} : {y} junk}", []string{`unexpected input at: "...y}>>>junk"`}},
	{"${{$mydomain} = {x} ? {a} : {b}}", []string{relopsExpectedWarn("$mydomain", "= {x} ? {a} : {b}")}},
	{"${{$mydomain} === {x} ? {a} : {b}}", []string{relopsExpectedWarn("$mydomain", "=== {x} ? {a} : {b}")}},
	{"${{a} {b}}", []string{relopsExpectedWarn("a", "{b}")}},
	{"${{a}}", []string{relopsExpectedWarn("a", "")}},
	{"${{a} =< {b}}", []string{relopsExpectedWarn("a", "=< {b}")}},
	{"${{a} <> {b}}", []string{relopsExpectedWarn("a", "<> {b}")}},
	{"${{$mydomain} == x ? {a} : {b}}", []string{`"{expression}" expected at: "...{$mydomain} ==>>> x ? {a} : {b}"`}},
	{"${{a} ==}", []string{`"{expression}" expected at: "...{a} ==>>>"`}},
	{"${{a} ==foo {b}}", []string{`bad operator suffix at: "...==>>>foo"`}},
	{"$(a?{x)", []string{`unbalanced {} in attribute expression: "{x"`}},
	{"$(nope?{x}:{y)", []string{`unbalanced {} in attribute expression: "{y"`}},
	{"$({a} == {b)", []string{`unbalanced {} in attribute expression: "{b"`}},
	{"$({a)", []string{`unbalanced {} in attribute expression: "{a"`}},
	{"${{1} <level {x}}", []string{`malformed compatibility level syntax: "x"`}},
	{"${{x} <level {3}}", []string{`malformed compatibility level syntax: "x"`}},
	{"${{1.2.3.4} <level {2}}", []string{`malformed compatibility level syntax: "1.2.3.4"`}},
	{"${{} <level {2}}", []string{`malformed compatibility level syntax: ""`}},
	{"${{3 } <level {4}}", []string{`malformed compatibility level syntax: "3 "`}},
	{"${{-3} <level {4}}", []string{`malformed compatibility level syntax: "-3"`}},
	{"${{1.} <level {4}}", []string{`malformed compatibility level syntax: "1."`}},
	{"${{3..1} <level {4}}", []string{`malformed compatibility level syntax: "3..1"`}},
	{"${{0x3} <level {4}}", []string{`malformed compatibility level syntax: "0x3"`}},
	{"${{9223372036854775808} <level {1}}", []string{`malformed compatibility level syntax: "9223372036854775808"`}},
	{"$self", []string{`unreasonable macro call nesting: "self"`}},
	{"a$self", []string{`unreasonable macro call nesting: "self"`}},
	{"${a?{$self}}", []string{`unreasonable macro call nesting: "self"`}},
	{"${{$self} == {x}}", []string{`unreasonable macro call nesting: "self"`}},
	{"$q1", []string{`unreasonable macro call nesting: "q2"`}},
	{"$p1", []string{`unreasonable macro call nesting: "x"`, `unreasonable macro call nesting: "p2"`}},
	{"${a b} $", []string{`attribute name syntax error at: "...a>>> b"`, `empty macro name: "${a b} $"`}},
	{"${a?{x}junk}${c", []string{`":" expected at: "...x}>>>junk"`, `truncated macro reference: "${a?{x}junk}${c"`}},
	{"${a b}$(c", []string{`attribute name syntax error at: "...a>>> b"`, `truncated macro reference: "${a b}$(c"`}},
	// Only the left operand is reported.
	{"${{x} <level {y}}", []string{`malformed compatibility level syntax: "x"`}},
	// Minor and patch are at most 1023, the major at most 2^43-1.
	{"${{1.1024} <level {2}}", []string{`malformed compatibility level syntax: "1.1024"`}},
	{"${{1.1.1024} <level {2}}", []string{`malformed compatibility level syntax: "1.1.1024"`}},
	{"${{8796093022208} >level {2}}", []string{`malformed compatibility level syntax: "8796093022208"`}},
	// Postfix dies on an all-digit operand beyond int64; postern reports it.
	{"${{9223372036854775808} > {1}}", []string{`mac_exp_eval: bad conversion: 9223372036854775808`}},
}

func relopsExpectedWarn(left, rest string) string {
	return fmt.Sprintf(`"==" or "!="" or "<"" or "<="" or ">="" or ">" expected at: "...%s}>>>%s"`, left, rest)
}

func lookupIn(env map[string]string) LookupFunc {
	return func(n string) (string, bool) { v, ok := env[n]; return v, ok }
}

func TestExpand(t *testing.T) {
	for _, tt := range expandCases {
		got, err := Expand(tt.in, lookupIn(expandEnv))
		if got != tt.want || err != nil {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	for _, tt := range expandErrCases {
		var warns []string
		e := &Expander{Lookup: lookupIn(expandEnv), Recurse: true, Warn: func(m string) { warns = append(warns, m) }}
		got, err := e.Expand(tt.in)
		if !errors.Is(err, ErrMacro) || got != "" {
			t.Errorf("Expander.Expand(%q) = %q, %v; want ErrMacro", tt.in, got, err)
		}
		if !reflect.DeepEqual(warns, tt.warns) {
			t.Errorf("Expander.Expand(%q) warned %q, want %q", tt.in, warns, tt.warns)
		}
		got, err = Expand(tt.in, lookupIn(expandEnv))
		if !errors.Is(err, ErrMacro) || got != "" || !strings.Contains(err.Error(), tt.warns[0]) {
			t.Errorf("Expand(%q) = %q, %v; want ErrMacro with %q", tt.in, got, err, tt.warns[0])
		}
	}
}

func TestExpandCompatibilityLevel(t *testing.T) {
	const expr = "${{$compatibility_level} <level {2} ? {subnet} : {host}}"
	for _, tt := range []struct{ level, want string }{
		{"0", "subnet"}, {"1", "subnet"}, {"2", "host"}, {"3.6", "host"}, {"3.10", "host"},
	} {
		env := map[string]string{"compatibility_level": tt.level}
		if got, err := Expand(expr, lookupIn(env)); got != tt.want || err != nil {
			t.Errorf("level %s: got %q, %v; want %q", tt.level, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ expr, level, want string }{
		{"${{$compatibility_level} <level {3.6} ? {old} : {new}}", "3.10", "new"},
		{"${{$compatibility_level} <=level {3.6} ? {le} : {gt}}", "3.6", "le"},
		{"${{$compatibility_level} >=level {3.6} ? {ge} : {lt}}", "3.5", "lt"},
		{"${{$compatibility_level} !=level {3.6.0} ? {ne} : {eq}}", "3.6", "eq"},
		{"${{$compatibility_level} >level {3} ? {gt} : {le}}", "3.0.1", "gt"},
		{"${{$compatibility_level} ==level {3.6.1}}", "3.6.1", "true"},
	} {
		env := map[string]string{"compatibility_level": tt.level}
		if got, err := Expand(tt.expr, lookupIn(env)); got != tt.want || err != nil {
			t.Errorf("%s with level %s: got %q, %v; want %q", tt.expr, tt.level, got, err, tt.want)
		}
	}
}

// chainEnv defines c1 = $c2, ..., cN = $c(N+1); c(N+1) is undefined.
func chainEnv(n int) map[string]string {
	env := map[string]string{}
	for i := 1; i <= n; i++ {
		env[fmt.Sprintf("c%d", i)] = fmt.Sprintf("$c%d", i+1)
	}
	return env
}

func TestExpandNesting(t *testing.T) {
	for _, tt := range []struct {
		n    int
		warn string
	}{
		{99, ""},
		{100, ""},
		{101, `unreasonable macro call nesting: "c102"`},
		{500, `unreasonable macro call nesting: "c102"`},
	} {
		var warns []string
		e := &Expander{Lookup: lookupIn(chainEnv(tt.n)), Recurse: true, Warn: func(m string) { warns = append(warns, m) }}
		_, err := e.Expand("$c1")
		if tt.warn == "" && err != nil || tt.warn != "" && (!errors.Is(err, ErrMacro) || len(warns) != 1 || warns[0] != tt.warn) {
			t.Errorf("chain of %d: err %v, warnings %q; want %q", tt.n, err, warns, tt.warn)
		}
	}
}

// A value that refers to itself inside a relational operand makes Postfix
// 3.7.11 postconf crash (stack overflow, exit 139); postern must fail cleanly.
func TestExpandRelationalLoop(t *testing.T) {
	env := map[string]string{"rel": "${{$rel} == {x}}", "r1": "${{$r2} == {x} ? {$r2}}", "r2": "$r1"}
	for _, in := range []string{"$rel", "$r1", "${{$rel} <level {1}}"} {
		if _, err := Expand(in, lookupIn(env)); !errors.Is(err, ErrMacro) {
			t.Errorf("Expand(%q) error = %v, want ErrMacro", in, err)
		}
	}
}

func TestReferences(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"plain", nil},
		{"$a ${b} $(c) $$d", []string{"a", "b", "c"}},
		{"${a?{$b}:{$c}}", []string{"a", "b", "c"}},
		{"${{$x} == {y} ? {$z}}", []string{"x", "z"}},
	} {
		if got := References(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("References(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
