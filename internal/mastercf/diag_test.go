package mastercf

import (
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/config"
)

type wantDiag struct {
	line int
	sev  config.Severity
	msg  string // substring of Diag.String()
}

const (
	W = config.Warning
	E = config.Error
)

// TestParseDiags lists every malformed form with the diagnostics it must
// produce, and nothing else.
func TestParseDiags(t *testing.T) {
	ok := "smtp inet n - y - - smtpd\n"
	for _, tc := range []struct {
		name, in string
		want     []wantDiag
	}{
		{"clean", ok + "relay unix - - n - - smtp\n  -o syslog_name=postfix/relay\n", nil},
		{"indented first line", "  -o a=b\n" + ok,
			[]wantDiag{{1, W, `master.cf:1: logical line must not start with whitespace: "  -o a=b"`}}},
		{"too few fields", ok + "short unix - - - -\n",
			[]wantDiag{{2, E, "service short/unix: entry has 6 fields, but needs at least 8"}}},
		{"one field", "lonely\n", []wantDiag{{1, E, "master.cf:1: entry has 1 fields"}}},
		{"unclosed brace eats fields", "x unix - {a b c d e f g\n",
			[]wantDiag{{1, E, "entry has 4 fields, but needs at least 8: service, type, private, unpriv, chroot, wakeup, maxproc, command (a '{' is never closed"}}},
		{"bad type", "x tcp - - - - - cmd\n",
			[]wantDiag{{1, E, `service x/tcp: invalid type "tcp": use inet, unix, unix-dgram, fifo or pass`}}},
		{"bad private", "x unix Y - - - - cmd\n", []wantDiag{{1, E, `invalid private field "Y": use y, n or -`}}},
		{"bad unpriv", "x unix - yes - - - cmd\n", []wantDiag{{1, E, `invalid unpriv field "yes"`}}},
		{"bad chroot", "relay unix - - maybe - - smtp\n",
			[]wantDiag{{1, E, `service relay/unix: invalid chroot field "maybe"`}}},
		{"bad wakeup", "x unix - - - 0x - cmd\n", []wantDiag{{1, E, `invalid wakeup field "0x"`}}},
		{"double question mark", "x unix - - - 5?? - cmd\n", []wantDiag{{1, E, `invalid wakeup field "5??"`}}},
		{"huge wakeup", "x unix - - - 99999999999 - cmd\n", []wantDiag{{1, E, `invalid wakeup field "99999999999"`}}},
		{"bare question mark", "x unix - - - ? - cmd\n", []wantDiag{{1, W, `wakeup field "?" has no time`}}},
		{"dash question mark", "x unix - - - -? - cmd\n", []wantDiag{{1, W, `wakeup field "-?" has no time`}}},
		{"bad maxproc", "x unix - - - - 0x cmd\n", []wantDiag{{1, E, `invalid maxproc field "0x"`}}},
		{"negative maxproc", "x unix - - - - -1 cmd\n", []wantDiag{{1, E, `invalid maxproc field "-1"`}}},
		{"private inet", "smtp inet y - y - - smtpd\n",
			[]wantDiag{{1, E, "service smtp/inet: an inet service cannot be private: set the private column to n"}}},
		{"default private inet", "smtp inet - - y - - smtpd\n",
			[]wantDiag{{1, E, "an inet service cannot be private, and - in the private column means y"}}},
		{"unknown port", "smtpx inet n - y - - smtpd\n",
			[]wantDiag{{1, E, `service smtpx/inet: bad listen address "smtpx": unknown port name "smtpx"`}}},
		{"bad host", "bad!host:25 inet n - y - - smtpd\n", []wantDiag{{1, E, `"bad!host" is not a valid hostname`}}},
		{"missing port", "127.0.0.1: inet n - y - - smtpd\n", []wantDiag{{1, E, "missing port after the host"}}},
		{"numeric garbage", "25x inet n - y - - smtpd\n", []wantDiag{{1, E, "garbage after numerical port"}}},
		{"-o without value", "x unix - - - - - cmd -o\n",
			[]wantDiag{{1, E, "-o at the end of the entry has no name=value"}}},
		{"-o without =", "x unix - - - - - cmd -o foo\n",
			[]wantDiag{{1, E, `-o "foo" is not name=value: missing '=' after attribute name`}}},
		{"-o without name", "x unix - - - - - cmd -o { = x }\n",
			[]wantDiag{{1, E, `-o "= x" is not name=value: missing attribute name`}}},
		{"-o unclosed brace", "x unix - - - - - cmd -o {a=b\n",
			[]wantDiag{{1, E, `a '{' is never closed, so the rest of the entry became one argument: "{a=b"`}}},
		{"-o text after brace", "x unix - - - - - cmd -o {a=b}c\n",
			[]wantDiag{{1, E, `argument "{a=b}c": text after the closing '}'`}}},
		{"-o bad name", "x unix - - - - - cmd -o {{a=b}}\n",
			[]wantDiag{{1, E, `-o "{a=b}": invalid parameter name "{a"`}}},
		{"-o twice", "x unix - - - - - cmd -o a=1\n  -o a=2\n",
			[]wantDiag{{1, W, `-o a is given more than once; the last value, "2", wins`}}},
		{"-o misread by postconf", "x unix - - - - - cmd -vosyslog_name=x\n",
			[]wantDiag{{1, E, `option "-osyslog_name=x": postconf splits it at every letter o, unlike the daemon, which reads "-o syslog_name=x"`}}},
		{"-o after argument", "x unix - - - - - cmd foo -o a=b\n",
			[]wantDiag{{1, W, `"-o" comes after the non-option argument "foo" and is not applied`}}},
		{"-o in pipe argv", "x unix - n n - - pipe flags=R argv=/bin/prog -o a=b\n", nil},
		{"first argument with blanks", "x unix - n n - - pipe {a b}\n",
			[]wantDiag{{1, W, `arguments change when written back: postconf -M shows this entry as "x          unix  -       n       n       -       -       pipe a b"`}}},
		{"empty argument", "x unix - - - - - cmd -v {} y\n", []wantDiag{{1, W, "arguments change when written back"}}},
		{"hash is no comment", "x unix - - - - - cmd -v # note\n",
			[]wantDiag{{1, W, `"#" is passed to the command, not a comment`}}},
		{"duplicate service", ok + "relay unix - - n - - smtp\n" + ok,
			[]wantDiag{{3, E, "service smtp/inet: defined again; the first definition is at line 1"}}},
		{"same name other type", ok + "smtp unix - - n - - smtp\n", nil},
		{"same port by name and number", ok + "25 inet n - y - - smtpd\n",
			[]wantDiag{{2, E, "service 25/inet: listens on port 25, like service smtp/inet at line 1; only one of them can bind it"}}},
		{"same host and port", "[127.0.0.1]:25 inet n - n - - smtpd\n127.0.0.1:smtp inet n - n - - smtpd\n",
			[]wantDiag{{2, E, "listens on 127.0.0.1 port 25, like service [127.0.0.1]:25/inet at line 1"}}},
		{"same port other host", ok + "127.0.0.1:smtp inet n - n - - smtpd\n[::1]:25 inet n - n - - smtpd\n", nil},
		{"all problems of a line", "x tcp maybe - - 0x y cmd -o\n", []wantDiag{
			{1, E, `invalid type "tcp"`}, {1, E, `invalid private field "maybe"`},
			{1, E, `invalid wakeup field "0x"`}, {1, E, `invalid maxproc field "y"`}, {1, E, "-o at the end"}}},
		{"diags in line order", "bad1 tcp - - - - - x\n  -o a=b\n  -o c\nbad2 unix - - - - - x -o d\n", []wantDiag{
			{1, E, "bad1/tcp"}, {1, E, `-o "c" is not name=value`}, {4, E, `service bad2/unix: -o "d"`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse("master.cf", tc.in)
			if len(diags) != len(tc.want) {
				t.Fatalf("got %d diags, want %d:\n%s", len(diags), len(tc.want), diagList(diags))
			}
			for i, w := range tc.want {
				d := diags[i]
				if d.File != "master.cf" || d.Line != w.line || d.Severity != w.sev || !strings.Contains(d.String(), w.msg) {
					t.Errorf("diag %d = %v %q\nwant line %d severity %v containing %q", i, d.Severity, d.String(), w.line, w.sev, w.msg)
				}
			}
		})
	}
}

func diagList(diags []config.Diag) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}
