package mastercf

import (
	"slices"
	"strings"
	"testing"
)

func TestEdit(t *testing.T) {
	const base = "# head\nsmtp inet n - y - - smtpd\n  -o smtpd_banner=a\n# inner\n  -o syslog_name=x\npickup unix n - y 60 1 pickup\n"
	tests := []struct {
		name     string
		data     string
		kind     EditKind
		op       EditOp
		args     []string
		want     string
		warnings []string
		err      string
	}{
		{"replace", base, EditEntry, EditSet, []string{"smtp/inet=smtp inet n - n - - smtpd -o { smtpd_banner = a b }"},
			"# head\nsmtp       inet  n       -       n       -       -       smtpd\n    -o {smtpd_banner=a b}\n# inner\npickup unix n - y 60 1 pickup\n", nil, ""},
		{"add", base, EditEntry, EditSet, []string{"new/unix=new unix - - n - - foo"},
			base + "new        unix  -       -       n       -       -       foo\n", nil, ""},
		{"add after a last line without newline", "smtp inet n - y - - smtpd", EditEntry, EditSet, []string{"new/unix=new unix - - n - - foo"},
			"smtp inet n - y - - smtpd\nnew        unix  -       -       n       -       -       foo\n", nil, ""},
		{"remove", base, EditEntry, EditRemove, []string{"smtp/inet"}, "# head\n# inner\npickup unix n - y 60 1 pickup\n", nil, ""},
		{"comment out", base, EditEntry, EditComment, []string{"smtp/inet"},
			"# head\n#smtp inet n - y - - smtpd\n#  -o smtpd_banner=a\n# inner\n#  -o syslog_name=x\npickup unix n - y 60 1 pickup\n", nil, ""},
		{"field: comments inside move before the entry", base, EditField, EditSet, []string{"smtp/inet/chroot=n"},
			"# head\n# inner\nsmtp       inet  n       -       n       -       -       smtpd\n    -o smtpd_banner=a\n    -o syslog_name=x\npickup unix n - y 60 1 pickup\n", nil, ""},
		{"param set adds after the options", "x unix - - n - - foo -v bar\n", EditParam, EditSet, []string{"x/unix/a=b"},
			"x          unix  -       -       n       -       -       foo -v\n    -o a=b\n    bar\n", nil, ""},
		{"param set replaces every occurrence", "x unix - - n - - foo -o a=1 -o a=2\n", EditParam, EditSet, []string{"x/unix/a=3"},
			"x          unix  -       -       n       -       -       foo\n    -o a=3\n    -o a=3\n", nil, ""},
		{"param remove", "x unix - - n - - foo -o a=1 -o b=2 -o a=2\n", EditParam, EditRemove, []string{"x/unix/a"},
			"x          unix  -       -       n       -       -       foo\n    -o b=2\n", nil, ""},
		{"unmatched field", base, EditField, EditSet, []string{"nosuch/unix/chroot=n"}, base,
			[]string{`unmatched service_name/type: "nosuch/unix/chroot=n"`}, ""},
		{"brace warnings", "x unix - - n - - foo\n", EditField, EditSet, []string{"x/unix/command=foo -o {a -o {b}"},
			"x          unix  -       -       n       -       -       foo\n    -o {a -o {b}}\n",
			[]string{`master.cf: missing '}' in "{a -o {b}"`, `master.cf: missing '=' after attribute name: "a -o {b}"`}, ""},
		{"bad field count in the edited entry", "x unix - - n -\n  -\n", EditField, EditSet, []string{"x/unix/chroot=y"}, "", nil,
			"file master.cf: line 1: bad field count"},
		{"bad column in the edited entry", "x unix - - q - - foo\n", EditParam, EditSet, []string{"x/unix/a=b"}, "", nil,
			`invalid chroot field "q" in "x unix - - q - - foo "`},
		{"bad value", base, EditField, EditSet, []string{"smtp/inet/wakeup=x"}, "", nil, `invalid wakeup field "x" in "x"`},
		{"bad entry elsewhere is kept", "x unix - - q - - foo\n" + base, EditEntry, EditRemove, []string{"pickup/unix"},
			"x unix - - q - - foo\n" + strings.TrimSuffix(base, "pickup unix n - y 60 1 pickup\n"), nil, ""},
		{"empty command", base, EditField, EditSet, []string{"smtp/inet/command= "}, "", nil, `-Fe requires a non-empty command value: "smtp/inet/command= "`},
		{"empty column", base, EditField, EditSet, []string{"smtp/inet/wakeup="}, "", nil, `-Fe requires a non-empty wakeup value: "smtp/inet/wakeup="`},
		{"name that starts a comment", base, EditField, EditSet, []string{"smtp/inet/service=#x"}, "", nil,
			`service name "#x" starts with '#': the entry would become a comment`},
		{"-Me name that starts a comment", base, EditEntry, EditSet, []string{"smtp/inet=#smtp inet n - y - - smtpd"}, "", nil,
			`service name "#smtp" starts with '#': the entry would become a comment`},
		{"a '{' open at the end of a line", "x inet y y y 0 0 0 0 0{\n", EditParam, EditRemove, []string{"x/inet/a"},
			"x          inet  y       y       y       0       0       0 0 0{\n", nil, ""},
		{"line numbers skip gobbled lines, as in postconf", "a unix - - n - - foo\n  -v\n  -v\nb unix\n", EditField, EditSet,
			[]string{"*/unix/chroot=y"}, "", nil, "file master.cf: line 2: bad field count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, warnings, err := Edit("master.cf", tt.data, tt.kind, tt.op, tt.args)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err || out != "" {
					t.Fatalf("got %q, %v; want error %q", out, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out, tt.want)
			}
			if !slices.Equal(warnings, tt.warnings) {
				t.Errorf("warnings %q, want %q", warnings, tt.warnings)
			}
		})
	}
}
