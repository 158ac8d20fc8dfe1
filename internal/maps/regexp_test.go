package maps

import (
	"strings"
	"testing"
)

type reCase struct {
	rules   string
	queries map[string]string // key → value, "-" = not found
	warns   string            // warnings joined by "|", "F" = the file
}

// re2Differences are posixCases where postern knowingly differs from
// Postfix, with the reason; the differential test skips them.
var re2Differences = map[string]string{
	`/b(b*)+*/ [$1]`:            "RE2 reports another iteration of a nested group (Postfix: [])",
	`/(^b?(a)+*|b){1,}a/ m[$1]`: "glibc bug: Postfix finds no match (only with $N, i.e. without REG_NOSUB)",
	`/\(a\)\1/x v`:              "RE2 has no back-references (Postfix: matches \"aa\")",
	`/x{1001}/ v`:               "RE2 limits repetition counts to 1000 (Postfix: no match for \"x\")",
}

func runRECases(t *testing.T, typ string, cases []reCase) {
	t.Helper()
	for _, tc := range cases {
		tbl, warnings := openText(t, typ, tc.rules+"\n")
		for k, want := range tc.queries {
			v, ok, err := tbl.Lookup(k)
			if !ok {
				v = "-"
			}
			if err != nil {
				v = "ERR"
			}
			if v != want {
				t.Errorf("%q: %q: got %q, want %q", tc.rules, k, v, want)
			}
		}
		if got := strings.Join(warnings, "|"); got != tc.warns {
			t.Errorf("%q: warnings\n got %q\nwant %q", tc.rules, got, tc.warns)
		}
	}
}

// posixCases were measured with postmap 3.7.11 (C locale glibc regex);
// TestDifferentialRules re-checks them against postmap when installed.
const w1 = "regexp map F, line 1: "

var posixCases = []reCase{
	{`/^(.*)@(.*)$/ user=$1 dom=${2} paren=$(1) dollar=$$ x${1}y`,
		map[string]string{"Foo@Bar.COM": "user=Foo dom=Bar.COM paren=Foo dollar=$ xFooy"}, ""},
	{`/(a)|(b)/ [$1][$2]`, map[string]string{"a": "[a][]", "b": "[][b]"}, ""},
	{`/(x)/ $1$$$1`, map[string]string{"x": "x$x"}, ""},
	{`/(x)/ $$1`, map[string]string{"x": "$1"}, ""},
	{`/(x)/ ${01}`, map[string]string{"x": "x"}, ""},
	{`/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)/ $10`, map[string]string{"abcdefghij": "j"}, ""},
	{`/\d/ d`, map[string]string{"d": "-", "D": "-", "1": "-"}, ""},
	{`/\d/i d`, map[string]string{"d": "d", "D": "-", `\d`: "d"}, ""},
	{`/\D/ D`, map[string]string{"D": "D", "d": "D", "1": "-"}, ""},
	{`/\D/i D`, map[string]string{"D": "D", "d": "-"}, ""},
	{`/\n/ n`, map[string]string{"n": "-", "N": "-"}, ""},
	{`/\0/ z`, map[string]string{"0": "z", "x": "-"}, ""},
	{`/a\/b/ slash`, map[string]string{"a/b": "slash"}, ""},
	{`/[/]/ slash3`, nil, w1 + `unknown regexp option "]": skipping this rule`},
	{`/a\|b/ alt`, map[string]string{"b": "-", "a|b": "alt"}, ""},
	{`/a^b/ mid`, map[string]string{"a^b": "-", "ab": "-"}, ""},
	{`/x{,2}/ v`, map[string]string{"x": "v"}, ""},
	{`/x{1000}/ v`, map[string]string{"x": "-"}, ""},
	{`/x{32768}/ v`, nil, w1 + "Regular expression too big"},
	{`/[a/ v`, nil, w1 + "Unmatched [, [^, [:, [., or [="},
	{`/[]a]/ v`, map[string]string{"]": "v", "a": "v"}, ""},
	{`/[^]a]/ v`, map[string]string{"]": "-", "b": "v"}, ""},
	{`/^x[a-]y$/ v`, map[string]string{"x-y": "v", "xay": "v", "xby": "-"}, ""},
	{"/\\`x/ v", map[string]string{"x": "v"}, ""},
	{`/x\'/ v`, map[string]string{"x": "v"}, ""},
	{`/a{1}{2}/ v`, map[string]string{"a": "-", "aa": "v"}, ""},
	{`/é/ v`, map[string]string{"É": "-", "é": "v"}, ""},
	{`/^.$/ v`, map[string]string{"é": "-", "x": "v"}, ""},
	{`/^..$/ v`, map[string]string{"é": "v"}, ""},
	{`/^(.)(.)$/ [$2][$1]`, map[string]string{"é": "ERR"}, ""},      // non-UTF-8 result
	{`/^(.)/ $1`, map[string]string{"\xff": "-", "a\xff": "-"}, ""}, // non-UTF-8 keys
	{`/[[:upper:]]/ v`, map[string]string{"a": "v"}, ""},
	{`/[[:upper:]]/i v`, map[string]string{"a": "-", "A": "v"}, ""},
	{`/[^a]/ v`, map[string]string{"A": "-", "b": "v"}, ""},
	{`/^x[[.space.]]y$/ v`, nil, w1 + "Invalid collation character"},
	{`/[[=ab=]]/ v`, nil, w1 + "Invalid collation character"},
	{`/[[:alpha:]-z]/ v`, nil, w1 + "Invalid range end"},
	{`/[a-[.z.]]/ v`, map[string]string{"m": "v"}, ""},
	{`/(a)\2/ v`, nil, w1 + "Invalid back reference"},
	{`/\1(a)/ v`, nil, w1 + "Invalid back reference"},
	{`/$a/ v`, map[string]string{"a": "-"}, ""},
	{`/a$*/ v`, nil, w1 + "Invalid preceding regular expression"},
	{`/^*/ v`, nil, w1 + "Invalid preceding regular expression"},
	{`/(+a)/ v`, nil, w1 + "Invalid preceding regular expression"},
	{`/a{1,x}/ v`, nil, w1 + `Invalid content of \{\}`},
	{`/a{}/ v`, nil, w1 + `Invalid content of \{\}`},
	{`/a{/ v`, nil, w1 + `Unmatched \{`},
	{`/(/ v`, nil, w1 + `Unmatched ( or \(`},
	{`/a||b/ v`, map[string]string{"x": "v"}, ""},
	{`/x(|b)/ v`, map[string]string{"x": "v"}, ""},
	{`// v`, map[string]string{"x": "v", "": "v"}, ""},
	{`/()/ v`, map[string]string{"x": "v"}, ""},
	{`/a+/x v`, map[string]string{"a+": "v", "aa": "-"}, ""},
	{`/\(a\)\1/x v`, nil, w1 + "back-references are not supported"},
	{`/*a/x v`, map[string]string{"*a": "v", "a": "-"}, ""},
	{`/\(*a\)/x v`, map[string]string{"*a": "v"}, ""},
	{`/a\|*b/x v`, map[string]string{"*b": "v", "b": "-"}, ""},
	{`/^*a/x v`, map[string]string{"*a": "v", "a": "-"}, ""},
	{`/\(^a$\)/x v`, map[string]string{"a": "v"}, ""},
	{`/a\{,2\}/x v`, map[string]string{"a": "v"}, ""},
	{`/a\?b/x v`, map[string]string{"b": "v"}, ""},
	{`/a**/x v`, nil, w1 + "Invalid preceding regular expression"},
	{`/a\{1\}*/x v`, nil, w1 + "Invalid preceding regular expression"},
	{`/\{1\}/x v`, nil, w1 + "Invalid preceding regular expression"},
	{`/a\}/x v`, map[string]string{"a}": "v"}, ""},
	{`/a)/x v`, map[string]string{"a)": "v"}, ""},
	{`/\)/x v`, nil, w1 + `Unmatched ( or \(`},
	{`/b(b*)+*/ [$1]`, map[string]string{"xbby": "[b]"}, ""},
	{`/(^b?(a)+*|b){1,}a/ m[$1]`, map[string]string{"ba": "m[b]"}, ""},
	{`/x{1001}/ v`, nil, w1 + "repetition counts above 1000 are not supported"},
	{"/a/\n  value on next", map[string]string{"a": "value on next"}, ""},
	{"/a/    val   with   trailing     ", map[string]string{"a": "val   with   trailing"}, ""},
	{"! /a/ sp2", map[string]string{"b": "sp2", "a": "-"}, ""},
	{"  /a/ indented", map[string]string{"a": "-"}, `F: logical line must not start with whitespace: "  /a/ indented"`},
	{`/(x)/ ${}`, nil, `empty macro name: "${}"|` + w1 + "bad replacement syntax: skipping this rule"},
	{`/(x)/ ${1?yes}`, nil, w1 + `non-numeric replacement index "1?yes"|` + w1 + "bad replacement syntax: skipping this rule"},
	{`/(x)/ $(1}`, nil, `truncated macro reference: "$(1}"|` + w1 + "bad replacement syntax: skipping this rule"},
	{"if\n/./ any", map[string]string{"a": "any"}, w1 + "no regexp: skipping this rule"},
	{"if /(/\n/./ in\nendif\n/./ out", map[string]string{"a": "in"},
		w1 + `Unmatched ( or \(|regexp map F, line 3: ignoring ENDIF without matching IF`},
	{"IF/^a/\n/./ in\nENDIF", map[string]string{"a": "in", "b": "-"}, ""},
	{"if /^a/\n/./ in\n/x/ x", map[string]string{"a": "in", "x": "-"}, w1 + "IF has no matching ENDIF"},
	{"xax v", nil, w1 + "ignoring unrecognized request"},
	{"!a! bangdelim", nil, w1 + `unknown regexp option "n": skipping this rule`},
}

func TestPOSIXSyntax(t *testing.T) { runRECases(t, "regexp", posixCases) }

// REG_NEWLINE (the m flag) cannot be tested through "postmap -q -".
func TestPOSIXNewline(t *testing.T) {
	runRECases(t, "regexp", []reCase{
		{"/^b$/ v", map[string]string{"a\nb": "-"}, ""},
		{"/^b$/m v", map[string]string{"a\nb": "v"}, ""},
		{"/a.b/ v", map[string]string{"a\nb": "v"}, ""},
		{"/a.b/m v", map[string]string{"a\nb": "-"}, ""},
		{"/a[^x]b/ v", map[string]string{"a\nb": "v"}, ""},
		{"/a[^x]b/m v", map[string]string{"a\nb": "-"}, ""},
	})
}

// pcre: has no Postfix oracle here (Debian ships it separately); these
// follow pcre_table(5) and dict_pcre.c.
func TestPCRE(t *testing.T) {
	const w = "pcre map F, line 1: "
	runRECases(t, "pcre", []reCase{
		{`/^(\d+)\.(\w+)$/ n=$1 w=$2`, map[string]string{"12.ab": "n=12 w=ab", "x.y": "-"}, ""},
		{`/^FOO$/ ci`, map[string]string{"foo": "ci"}, ""},
		{`/^FOO$/i cs`, map[string]string{"foo": "-", "FOO": "cs"}, ""},
		{`/a.b/ dotall`, map[string]string{"a\nb": "dotall"}, ""},
		{`/a.b/s nodot`, map[string]string{"a\nb": "-", "axb": "nodot"}, ""},
		{`/^b$/m ml`, map[string]string{"a\nb": "ml"}, ""},
		{"/ a b # comment\n c /x ext", map[string]string{"abc": "ext"}, ""},
		{`/a\ b [ ]/x ext2`, map[string]string{"a b  ": "ext2"}, ""},
		{`/b/A anch`, map[string]string{"ab": "-", "ba": "anch"}, ""},
		{`/(a+)(a*)/U lazy [$1][$2]`, map[string]string{"aaa": "lazy [a][]"}, ""},
		{`/a/EX v`, map[string]string{"a": "v"}, ""},
		{`/a+?/ lazy`, map[string]string{"aa": "lazy"}, ""},
		{`/é/ utf8`, map[string]string{"É": "utf8"}, ""}, // Unicode folding
		{`/a/!/b/ v`, nil, w + `unknown regexp option "!": skipping this rule`},
		{`/a/q v`, nil, w + `unknown regexp option "q": skipping this rule`},
		{`/a v`, nil, w + `no closing regexp delimiter "/": ignoring this rule`},
		{`/(a)/ $0`, nil, w + `out of range replacement index "0"|` + w + "bad replacement syntax: skipping this rule"},
		{`/(a)(?=b)/ v`, nil, w + "error in regex: error parsing regexp: invalid or unsupported Perl syntax: `(?=`"},
		{"if /^a/\n/(.)$/ last=$1\nendif", map[string]string{"abc": "last=c", "bc": "-"}, ""},
	})
}
