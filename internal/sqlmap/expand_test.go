package sqlmap

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func tmpl(t *testing.T, query, result string) *templates {
	t.Helper()
	tp := &templates{query: query, result: result}
	if err := tp.parseTemplate(query, true); err != nil {
		t.Fatal(err)
	}
	if err := tp.parseTemplate(result, false); err != nil {
		t.Fatal(err)
	}
	return tp
}

func TestExpandQuery(t *testing.T) {
	id := func(s string) (string, error) { return s, nil }
	tests := []struct {
		query, result, key string
		want               string // "" and !ok: suppressed
		ok                 bool
	}{
		{"x='%s'", "%s", "user@example.com", "x='user@example.com'", true},
		{"u='%u' d='%d'", "%s", "user@example.com", "u='user' d='example.com'", true},
		{"u='%u'", "%s", "user", "u='user'", true},       // %u without domain: the whole key
		{"d='%d'", "%s", "user", "", false},              // %d needs a domain
		{"u='%u'", "%s", "@example.com", "", false},      // %u with an empty local part
		{"d='%d'", "%s", "user@", "", false},             // empty domain
		{"%S %U %D", "%s", "a@b.c", "a@b.c a b.c", true}, // upper case = lower case in a query
		{"%1.%2.%3", "%s", "u@mail.example.com", "com.example.mail", true},
		{"%3", "%s", "u@example.com", "", false},    // too few labels
		{"%2", "%s", "u@example..com", "", false},   // empty label among the needed
		{"%1", "%s", "u@example..com", "com", true}, // not needed: fine
		{"100%% '%s'", "%s", "k", "100% 'k'", true},
		{"q='%s'", "%D", "user", "", false}, // result_format's %D needs a key domain
		{"q='%s'", "%s", "", "", false},     // empty key: no query
		{"a@b", "%s", "a@b@c", "a@b", true},
		{"'%u'/'%d'", "%s", "a@b@c", "'a@b'/'c'", true}, // the last '@' splits
	}
	for _, tc := range tests {
		tp := tmpl(t, tc.query, tc.result)
		got, ok, err := tp.expandQuery(tc.key, id)
		if err != nil || ok != tc.ok || got != tc.want {
			t.Errorf("query %q key %q: got %q, %v, %v; want %q, %v", tc.query, tc.key, got, ok, err, tc.want, tc.ok)
		}
	}
}

func TestExpandResult(t *testing.T) {
	tests := []struct {
		result, value, key string
		want               string
		ok                 bool
	}{
		{"%s", "x@y", "k@d", "x@y", true},
		{"smtp:[%s]", "mx.example", "k@d", "smtp:[mx.example]", true},
		{"%u", "x@y", "k@d", "x", true},
		{"%d", "x@y", "k@d", "y", true},
		{"%d", "x", "k@d", "", false}, // unqualified result skipped
		{"%u", "@y", "k@d", "", false},
		{"%U+%u@%D", "x@y", "k@d", "k+x@d", true},
		{"%s", "", "k", "", false}, // empty results are skipped
		{"%1/%s", "v", "k@a.b", "b/v", true},
	}
	for _, tc := range tests {
		tp := tmpl(t, "q", tc.result)
		got, ok := tp.expandResult(tc.value, tc.key)
		if ok != tc.ok || got != tc.want {
			t.Errorf("result %q value %q key %q: got %q, %v; want %q, %v", tc.result, tc.value, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseTemplateErrors(t *testing.T) {
	for _, f := range []string{"%x", "abc%", "%0", "%s %Q"} {
		tp := &templates{}
		if err := tp.parseTemplate(f, true); err == nil {
			t.Errorf("%q: no error", f)
		}
	}
}

// hostile keys: quoting must keep every one inside its literal.
var hostile = []string{
	"o'brien@example.com",
	"x' OR '1'='1",
	"x'; DROP TABLE alias; --",
	`back\slash@example.com`,
	`x\' OR 1=1 -- `,
	"quote\"dq@example.com",
	"nl\nline@example.com",
	"ctrl\x1az@example.com",
	"ünïcödé@exämple.com",
	"'''",
	`\\\'`,
	"%s%u%d@%1",
}

func TestQuoting(t *testing.T) {
	tests := []struct {
		name string
		q    quoter
		in   string
		want string
	}{
		{"pg", quotePostgres(true), `a'b\c`, `a''b\c`},
		{"pg-nonstandard", quotePostgres(false), `a'b\c`, `a''b\\c`},
		{"mysql", quoteMySQL(false), "a'b\\c\"d\ne\rf\x1ag", `a\'b\\c\"d\ne\rf\Zg`},
		{"mysql-nobackslash", quoteMySQL(true), `a'b\c"`, `a''b\c"`},
		{"sqlite", quoteSQLite, `a'b\c`, `a''b\c`},
	}
	for _, tc := range tests {
		got, err := tc.q(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s(%q) = %q, %v; want %q", tc.name, tc.in, got, err, tc.want)
		}
		for _, bad := range []string{"a\x00b", "\xff"} {
			if _, err := tc.q(bad); err == nil {
				t.Errorf("%s(%q): no error", tc.name, bad)
			}
		}
	}
}

// literalEnd returns where a '...' literal that starts at s[0] ends
// (the index after the closing quote) under the dialect's rules, or -1.
func literalEnd(s string, backslash bool) int {
	for i := 1; i < len(s); i++ {
		switch {
		case backslash && s[i] == '\\':
			i++
		case s[i] == '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return i + 1
		}
	}
	return -1
}

// FuzzExpandQuery checks that whatever the key, the expanded query of
// "SELECT v FROM t WHERE k='%s' AND u='%u' AND d='%d'" has exactly its
// three literals, each ending where the template's does, in every
// dialect: no key can close a literal or add SQL.
func FuzzExpandQuery(f *testing.F) {
	for _, h := range hostile {
		f.Add(h)
	}
	f.Add("user@example.com")
	const query = "SELECT v FROM t WHERE k='%s' AND u='%u' AND d='%d' AND l='%1'"
	dialects := []struct {
		q         quoter
		backslash bool
	}{
		{quotePostgres(true), false},
		{quotePostgres(false), true},
		{quoteMySQL(false), true},
		{quoteMySQL(true), false},
		{quoteSQLite, false},
	}
	f.Fuzz(func(t *testing.T, key string) {
		tp := &templates{query: query, result: "%s"}
		if err := tp.parseTemplate(query, true); err != nil {
			t.Fatal(err)
		}
		for _, d := range dialects {
			out, ok, err := tp.expandQuery(key, d.q)
			if strings.IndexByte(key, 0) >= 0 || !utf8.ValidString(key) {
				if ok && err == nil && tp.keyApplies(key) {
					t.Fatalf("key %q: quoted a NUL or invalid UTF-8", key)
				}
				continue
			}
			if err != nil || !ok {
				continue
			}
			// Walk the output: outside literals it must be the template's
			// text exactly.
			var skeleton strings.Builder
			for i := 0; i < len(out); {
				if out[i] != '\'' {
					skeleton.WriteByte(out[i])
					i++
					continue
				}
				n := literalEnd(out[i:], d.backslash)
				if n < 0 {
					t.Fatalf("key %q: unterminated literal in %q", key, out)
				}
				skeleton.WriteString("''")
				i += n
			}
			if want := "SELECT v FROM t WHERE k='' AND u='' AND d='' AND l=''"; skeleton.String() != want {
				t.Fatalf("key %q: query %q has the shape %q", key, out, skeleton.String())
			}
		}
	})
}
