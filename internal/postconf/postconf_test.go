package postconf

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		argv    []string
		want    options
		wantErr string
	}{
		{[]string{"-nx", "-c", "/d"}, options{dir: "/d", nonDefault: true, expand: true, args: []string{}}, ""},
		{[]string{"-c/d", "-hx", "myhostname"}, options{dir: "/d", valueOnly: true, expand: true, args: []string{"myhostname"}}, ""},
		{[]string{"-o", "a=b", "-oc=d", "-x", "y"}, options{overrides: []string{"a=b", "c=d"}, expand: true, args: []string{"y"}}, ""},
		{[]string{"-o", "a=b", "-e", "x=y"}, options{}, "specify one of -e -o"},
		{[]string{"-eXf", "x"}, options{}, "specify one of -e -X"},
		{[]string{"-fe", "x=y"}, options{}, "specify one of -e -f"},
		{[]string{"-FX", "a/b/c"}, options{}, "with option -F, do not specify -X"},
		{[]string{"-P#", "a/b/c"}, options{}, "with option -P, do not specify -#"},
		{[]string{"-MF"}, options{}, "specify one of -F -M"},
		{[]string{"-Mh"}, options{}, "with option -M, do not specify -h"},
		{[]string{"-Me"}, options{}, "-e requires name=value argument"},
		{[]string{"-M", "a/b=a b - - - - - c"}, options{master: true, edit: true, args: []string{"a/b=a b - - - - - c"}}, ""},
		{[]string{"-#", "relayhost"}, options{comment: true, args: []string{"relayhost"}}, ""},
		{[]string{"--", "-n"}, options{args: []string{"-n"}}, ""},
		{[]string{"-q"}, options{}, "invalid option -- 'q'"},
		{[]string{"-c"}, options{}, "option -c requires an argument"},
		{[]string{"-dn"}, options{}, "specify one of -d -n"},
	}
	for _, tt := range tests {
		got, err := parseOptions(tt.argv)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%q: error %v, want %q", tt.argv, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%q: got %+v, %v; want %+v", tt.argv, got, err, tt.want)
		}
	}
}

func conf(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = Run(append([]string{"-c", dir}, args...), Env{Stdout: &o, Stderr: &e, Prog: "postern",
		Hostname: "mail", Sys: inetaddrtest.Standard(), Getenv: func(string) string { return "" }})
	return o.String(), e.String(), code
}

func writeMain(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Postfix glues an appended assignment onto a last line without newline;
// postern does not.
func TestEditAppendsAfterLineWithoutNewline(t *testing.T) {
	dir := writeMain(t, "relayhost = a")
	if _, e, code := conf(t, dir, "mydomain=example.com"); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "main.cf"))
	if string(got) != "relayhost = a\nmydomain = example.com\n" {
		t.Errorf("main.cf = %q", got)
	}
}

func TestEditRejectsMultiLineInput(t *testing.T) {
	dir := writeMain(t, "relayhost = a\n")
	_, e, code := conf(t, dir, "relayhost=a\nmydomain=b")
	if code != 1 || !strings.Contains(e, "accepts no multi-line input") {
		t.Errorf("exit %d, stderr %q", code, e)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "main.cf"))
	if string(got) != "relayhost = a\n" {
		t.Errorf("main.cf changed: %q", got)
	}
}

func TestDefaultsNeedNoMainCf(t *testing.T) {
	out, e, code := conf(t, t.TempDir(), "-d", "myhostname", "mynetworks", "compatibility_level")
	want := "myhostname = mail.localdomain\nmynetworks = 127.0.0.1/32 192.0.2.10/32 [::1]/128 [2001:db8::10]/128\ncompatibility_level = 3.6\n"
	if code != 0 || out != want {
		t.Errorf("exit %d\n%s\nstderr %s", code, out, e)
	}
}

func TestMissingMainCf(t *testing.T) {
	dir := t.TempDir()
	_, e, code := conf(t, dir, "-n")
	if code != 1 || e != "postern: fatal: open "+dir+"/main.cf: No such file or directory\n" {
		t.Errorf("exit %d, stderr %q", code, e)
	}
}

// Unlike Postfix, a bad inet_interfaces does not break postern conf: the
// derived mynetworks is empty and a warning says why.
func TestBadInetInterfacesDoesNotBreakConf(t *testing.T) {
	dir := writeMain(t, "inet_interfaces = nohost.invalid\n")
	out, e, code := conf(t, dir, "-h", "inet_interfaces", "mynetworks", "myhostname")
	if code != 0 || out != "nohost.invalid\n\nmail.localdomain\n" || !strings.Contains(e, "host not found: nohost.invalid") {
		t.Errorf("exit %d, out %q, stderr %q", code, out, e)
	}
}

func TestNotImplementedPostfixParameter(t *testing.T) {
	dir := writeMain(t, "biff = no\n")
	out, e, code := conf(t, dir, "biff", "no_such_thing")
	if code != 0 || out != "biff = no\n" {
		t.Errorf("exit %d, out %q", code, out)
	}
	if !strings.Contains(e, "no_such_thing: unknown parameter") {
		t.Errorf("stderr %q", e)
	}
	_, e, _ = conf(t, dir, "fast_flush_domains")
	if !strings.Contains(e, "fast_flush_domains: parameter is not implemented by postern") {
		t.Errorf("stderr %q", e)
	}
}

// Postfix appends several new names in its hash table's (randomised)
// order; postern appends them in the order they were given.
func TestEditAppendsInArgumentOrder(t *testing.T) {
	dir := writeMain(t, "# only a comment\n")
	if _, e, code := conf(t, dir, "zz=1", "aa=2", "mm=3"); code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "main.cf"))
	if string(got) != "# only a comment\nzz = 1\naa = 2\nmm = 3\n" {
		t.Errorf("main.cf = %q", got)
	}
}
