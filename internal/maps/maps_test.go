package maps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// openText writes content to a temporary file and opens typ:file. The
// file's path is replaced by "F" in the returned warnings.
func openText(t *testing.T, typ, content string) (Table, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "F")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tbl, err := Open(typ + ":" + path)
	if err != nil {
		t.Fatal(err)
	}
	var w []string
	for _, s := range Warnings(tbl) {
		w = append(w, strings.ReplaceAll(s, path, "F"))
	}
	return tbl, w
}

func TestOpenErrors(t *testing.T) {
	// Messages as postmap 3.7.11 prints them after "postmap: fatal: ".
	for spec, want := range map[string]string{
		"nosuchtype:x":       "unsupported dictionary type: nosuchtype",
		"noname":             `open dictionary: expecting "type:name" form instead of "noname"`,
		"static:":            `open dictionary: expecting "type:name" form instead of "static:"`,
		"texthash:/nonexist": "open database /nonexist: no such file or directory",
		"hash:/nonexist":     "open database /nonexist.cdb: no such file or directory",
		"cidr:/nonexist":     "open /nonexist: no such file or directory",
		"regexp:/nonexist":   "open /nonexist: no such file or directory",
		"pcre:/nonexist":     "open /nonexist: no such file or directory",
		"inline:{}":          `bad syntax: "inline:{}"; need "inline:{name=value...}"`,
		"static:{ a":         `bad static:name syntax: missing '}' in "{ a"`,
	} {
		if _, err := Open(spec); err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", spec, err, want)
		}
	}
}

// A missing database whose source exists says how to build it.
func TestOpenMissingDatabaseHint(t *testing.T) {
	src := filepath.Join(t.TempDir(), "access")
	os.WriteFile(src, []byte("a b\n"), 0o644)
	_, err := Open("hash:" + src)
	if err == nil || !strings.Contains(err.Error(), `build it with "postern map hash:`+src+`"`) {
		t.Errorf("got %v", err)
	}
}

// inlineCases were measured with postmap -q / -s 3.7.11 and are re-checked
// by TestDifferentialInline.
type inlineQuery struct{ key, value string } // value "-" = not found

var inlineCases = []struct {
	spec string
	qs   []inlineQuery
}{
	{"inline:{foo=bar}", []inlineQuery{{"foo", "bar"}, {"FOO", "bar"}, {"bar", "-"}}},
	{"inline:{Foo=bar}", []inlineQuery{{"foo", "bar"}}},
	{"inline:{ { foo = text with spaces }, k=v }", []inlineQuery{{"foo", "text with spaces"}, {"k", "v"}}},
	{"inline:{foo=bar,foo=baz}", []inlineQuery{{"foo", "baz"}}}, // last wins
	{"inline:{=bar}", []inlineQuery{{"", "bar"}}},
	{"inline:{foo=}", []inlineQuery{{"foo", ""}}},
	{"inline:{foo=bar x=y}", []inlineQuery{{"x", "y"}}},
	{"inline:{a=b,,c=d}", []inlineQuery{{"a", "b"}, {"c", "d"}}},
	{"inline:{foo=a=b}", []inlineQuery{{"foo", "a=b"}}},
	{"inline:{foo={a b}}", []inlineQuery{{"foo", "{a b}"}}},
	{"inline:{ {{a}=b} }", []inlineQuery{{"{a}", "b"}}},
	{"inline:{ { a = {b} } }", []inlineQuery{{"a", "{b}"}}},
	{"static:value", []inlineQuery{{"anything", "value"}, {"", "value"}}},
	{"static:{ text with spaces }", []inlineQuery{{"x", "text with spaces"}}},
	{"static:Value With Case", []inlineQuery{{"X", "Value With Case"}}},
	{"static:{}", []inlineQuery{{"x", ""}}},
	{"static:{ {a} }", []inlineQuery{{"x", "{a}"}}},
}

func TestInline(t *testing.T) {
	for _, tc := range inlineCases {
		tbl, err := Open(tc.spec)
		if err != nil {
			t.Errorf("%s: %v", tc.spec, err)
			continue
		}
		if tbl.Name() != tc.spec {
			t.Errorf("Name() = %q", tbl.Name())
		}
		for _, q := range tc.qs {
			v, ok, err := tbl.Lookup(q.key)
			if !ok {
				v = "-"
			}
			if err != nil || v != q.value {
				t.Errorf("%s: %q: got %q, want %q", tc.spec, q.key, v, q.value)
			}
		}
	}
}

// inlineErrors: the fatal error of each spec, as postmap prints it.
var inlineErrors = map[string]string{
	"inline:{ }":                 "empty table",
	"inline:foo=bar":             "bad syntax",
	"inline:{foo}":               "missing '=' after attribute name",
	"inline:{ foo = bar , x=y }": "missing '=' after attribute name",
	"inline:{ { a b = c d } }":   "missing '=' after attribute name",
	"inline:{foo=bar":            "bad syntax",
	"inline:{foo=bar}x":          "bad syntax",
	"inline:{{foo=bar}":          "bad syntax",
	"inline:{ {foo=bar} x}":      "missing '=' after attribute name",
	"inline:{foo = {a,b}}":       "missing '=' after attribute name",
	"inline:{{ }}":               "no key found; expected format: key = value",
	"inline:{ {a}=b }":           `syntax error after '}' in "{a}=b"`,
	"inline:{ a={b}} }":          "bad syntax",
}

func TestInlineErrors(t *testing.T) {
	for spec, why := range inlineErrors {
		_, err := Open(spec)
		want := why + `: "` + spec + `"; need "inline:{name=value...}"`
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", spec, err, want)
		}
	}
	if _, err := Open("static:{a}b"); err == nil || err.Error() != `bad static:name syntax: syntax error after '}' in "{a}b"` {
		t.Errorf("static: %v", err)
	}
}

func TestFoldKey(t *testing.T) {
	for in, want := range map[string]string{
		"abc": "abc", "ABC": "abc", "ÄÖÜ": "äöü", "Straße": "strasse", "STRAẞE": "strasse",
		"ΣΑΣ": "σασ", "ς": "σ", "ﬁle": "file", "K": "k", "bad\xffX": "bad\xffx",
	} {
		if got := foldKey(in); got != want {
			t.Errorf("foldKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPatternFlags(t *testing.T) {
	for spec, want := range map[string]bool{
		"static:x": false, "inline:{a=b}": false,
	} {
		tbl, _ := Open(spec)
		if IsPattern(tbl) != want {
			t.Errorf("%s: IsPattern = %v", spec, !want)
		}
	}
	c, _ := openText(t, "cidr", "")
	r, _ := openText(t, "regexp", "")
	p, _ := openText(t, "pcre", "")
	th, _ := openText(t, "texthash", "")
	if !IsPattern(c) || !IsPattern(r) || !IsPattern(p) || IsPattern(th) {
		t.Error("pattern flags wrong")
	}
}
