package config

import (
	"errors"
	"reflect"
	"testing"
)

func TestSplitNameValue(t *testing.T) {
	tests := []struct {
		in, name, value string
		err             error
	}{
		{"a = b", "a", "b", nil},
		{"myhostname=mx", "myhostname", "mx", nil},
		{"a =", "a", "", nil},
		{"a=", "a", "", nil},
		{"a\t=\tx\t", "a", "x", nil},
		{"a = x # note", "a", "x # note", nil},
		{"a = b = c", "a", "b = c", nil},
		{"a==value", "a", "=value", nil},
		{"a = x  y\tz  ", "a", "x  y\tz", nil},
		{"a = x\r", "a", "x", nil},
		{"a = b\r  c\r", "a", "b\r  c", nil},
		{"a-b.c = d", "a-b.c", "d", nil},
		{"relayhost", "", "", ErrMissingEquals},
		{"relayhost value", "", "", ErrMissingEquals},
		{"smtpd_banner  cont", "", "", ErrMissingEquals},
		{"= value", "", "", ErrMissingName},
		{"=", "", "", ErrMissingName},
	}
	for _, tt := range tests {
		name, value, err := SplitNameValue(tt.in)
		if name != tt.name || value != tt.value || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
			t.Errorf("SplitNameValue(%q) = %q, %q, %v; want %q, %q, %v",
				tt.in, name, value, err, tt.name, tt.value, tt.err)
		}
	}
}

// diag is the part of a Diag the tests compare.
type diag struct {
	sev  Severity
	line int
	msg  string
}

// The messages are postconf's (Postfix 3.7.11) with "DIR/main.cf, line N: "
// (or "DIR/main.cf: ") removed.
func TestParseMain(t *testing.T) {
	type nv struct {
		Name, Value string
		Line        int
	}
	tests := []struct {
		name    string
		in      string
		entries []nv
		diags   []diag
	}{
		{"empty", "", nil, nil},
		{"hash after value stays", "smtpd_banner = x # note\n",
			[]nv{{"smtpd_banner", "x # note", 1}}, nil},
		{"no spaces and empty value", "smtpd_banner=a\nrelayhost =\n",
			[]nv{{"smtpd_banner", "a", 1}, {"relayhost", "", 2}}, nil},
		{"continuation across blanks and comments",
			"smtpd_banner = a\n\n# comment\n   # indented comment\n  b\n\tc\nrelayhost = r\n",
			[]nv{{"smtpd_banner", "a  b\tc", 1}, {"relayhost", "r", 7}}, nil},
		{"indented name = value is a continuation", "smtpd_banner = a\n relayhost = r\n",
			[]nv{{"smtpd_banner", "a relayhost = r", 1}}, nil},
		{"indented first line dropped", "  smtpd_banner = a\nrelayhost = r\n",
			[]nv{{"relayhost", "r", 2}},
			[]diag{{Warning, 1, `logical line must not start with whitespace: "  smtpd_banner = a"`}}},
		{"dropped text cut at 30", "# c\n  smtpd_banner = a long value that exceeds thirty characters\n more\nrelayhost = r\n",
			[]nv{{"relayhost", "r", 4}},
			[]diag{{Warning, 2, `logical line must not start with whitespace: "  smtpd_banner = a long value ..."`}}},
		{"last definition wins", "relayhost = a\nrelayhost = b\n",
			[]nv{{"relayhost", "a", 1}, {"relayhost", "b", 2}},
			[]diag{{Warning, 2, "overriding earlier entry: relayhost=a"}}},
		{"three definitions", "relayhost = 1\nmyhostname = 2\nrelayhost = 3\nrelayhost = 4\n",
			[]nv{{"relayhost", "1", 1}, {"myhostname", "2", 2}, {"relayhost", "3", 3}, {"relayhost", "4", 4}},
			[]diag{{Warning, 3, "overriding earlier entry: relayhost=1"}, {Warning, 4, "overriding earlier entry: relayhost=3"}}},
		{"missing equals on first physical line", "relayhost = a\n# c\nsmtpd_banner\n  cont\n",
			[]nv{{"relayhost", "a", 1}},
			[]diag{{Error, 3, `missing '=' after attribute name: "smtpd_banner  cont"`}}},
		{"missing name", "relayhost = a\n\n= value\n",
			[]nv{{"relayhost", "a", 1}},
			[]diag{{Error, 3, `missing attribute name: "= value"`}}},
		{"errors do not stop parsing", "bad\n=\nok = 1\n",
			[]nv{{"ok", "1", 3}},
			[]diag{{Error, 1, `missing '=' after attribute name: "bad"`}, {Error, 2, `missing attribute name: "="`}}},
		{"crlf", "relayhost = a\r\nsmtpd_banner = b\r\n  c\r\n",
			[]nv{{"relayhost", "a", 1}, {"smtpd_banner", "b\r  c", 2}}, nil},
		{"final line without newline", "relayhost = a\nsmtpd_banner = b",
			[]nv{{"relayhost", "a", 1}, {"smtpd_banner", "b", 2}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := ParseMain("/etc/postfix/main.cf", tt.in)
			var got []nv
			for _, e := range f.Entries {
				got = append(got, nv(e))
			}
			if !reflect.DeepEqual(got, tt.entries) {
				t.Errorf("entries = %+v, want %+v", got, tt.entries)
			}
			last := map[string]nv{}
			for _, e := range tt.entries {
				last[e.Name] = e
			}
			if len(f.Values) != len(last) {
				t.Errorf("Values has %d names, want %d", len(f.Values), len(last))
			}
			for n, w := range last {
				if e := f.Values[n]; e.Value != w.Value || e.Line != w.Line {
					t.Errorf("Values[%q] = %+v, want %+v", n, e, w)
				}
			}
			var diags []diag
			for _, d := range f.Diags {
				diags = append(diags, diag{d.Severity, d.Line, d.Msg})
				if d.File != "/etc/postfix/main.cf" {
					t.Errorf("diag %v: File = %q", d, d.File)
				}
			}
			if !reflect.DeepEqual(diags, tt.diags) {
				t.Errorf("diags = %+v, want %+v", diags, tt.diags)
			}
			first := f.FirstError()
			for _, d := range tt.diags {
				if d.sev == Error {
					if first == nil || first.Line != d.line {
						t.Errorf("FirstError() = %v, want line %d", first, d.line)
					}
					return
				}
			}
			if first != nil {
				t.Errorf("FirstError() = %v, want nil", first)
			}
		})
	}
}

func TestParseMainOverrideParam(t *testing.T) {
	f := ParseMain("main.cf", "relayhost = a\nrelayhost = b\n")
	if len(f.Diags) != 1 || f.Diags[0].Param != "relayhost" || f.Diags[0].Severity != Warning {
		t.Fatalf("Diags = %+v, want one warning for relayhost", f.Diags)
	}
	if got := f.Values["relayhost"].Value; got != "b" {
		t.Errorf("relayhost = %q, want b", got)
	}
}
