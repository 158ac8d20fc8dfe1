package mastercf

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// modes are the postconf options the golden files were made with
// (testdata/NN-name.<mode>, from `postconf -c DIR -<mode>`).
var modes = []string{"M", "Mf", "F", "Ff", "Fh", "P", "Pf", "Ph"}

// render produces our output for a postconf mode such as "Mf" or "Ph".
func render(t *testing.T, f *File, mode string, patterns ...string) (string, []string, error) {
	t.Helper()
	var b strings.Builder
	o := Options{Fold: strings.Contains(mode, "f"), HideName: strings.Contains(mode, "h")}
	write := map[byte]func(*strings.Builder) ([]string, error){
		'M': func(b *strings.Builder) ([]string, error) { return f.WriteEntries(b, o, patterns...) },
		'F': func(b *strings.Builder) ([]string, error) { return f.WriteFields(b, o, patterns...) },
		'P': func(b *strings.Builder) ([]string, error) { return f.WriteParams(b, o, patterns...) },
	}[mode[0]]
	warnings, err := write(&b)
	return b.String(), warnings, err
}

func inputs(t *testing.T) []string {
	files, err := filepath.Glob("testdata/*.master.cf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	return files
}

func TestGolden(t *testing.T) {
	for _, in := range inputs(t) {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := Parse(in, string(data))
		for _, mode := range modes {
			want, err := os.ReadFile(strings.TrimSuffix(in, "master.cf") + mode)
			if err != nil {
				t.Fatal(err)
			}
			if got, _, _ := render(t, f, mode); got != string(want) {
				t.Errorf("%s -%s:\n--- got\n%s--- want (postconf)\n%s", in, mode, got, want)
			}
		}
	}
}

// selections were measured with postconf 3.7.11 on the testdata files.
var selections = []struct {
	file    string
	mode    string
	args    []string
	want    string
	warning string // postconf's warning, or fatal error when fatal is set
	fatal   bool
}{
	{"04-options", "M", []string{"smtps"},
		"smtps      inet  n       -       y       -       -       smtpd -o syslog_name=postfix/smtps -o smtpd_tls_wrappermode=yes\n", "", false},
	{"04-options", "Mf", []string{"smtps/inet", "nosuch/inet"},
		"smtps      inet  n       -       y       -       -       smtpd\n    -o syslog_name=postfix/smtps\n    -o smtpd_tls_wrappermode=yes\n",
		`unmatched request: "nosuch/inet"`, false},
	{"07-duplicates", "M", []string{"a/"},
		"a          unix  -       n       n       -       -       x -o p=1 -o q=1\na          unix  -       n       n       -       -       y -o q=2 -o r=2\n", "", false},
	{"07-duplicates", "M", []string{"*/unix", "b"}, "", "", false}, // checked against postconf only
	{"04-options", "F", []string{"relay/unix/wakeup", "smtps/inet/chroot"}, "smtps/inet/chroot = y\nrelay/unix/wakeup = -\n", "", false},
	{"07-duplicates", "Fh", []string{"c/*/process_limit"}, "-\n-\n", "", false},
	{"07-duplicates", "P", []string{"a/unix/q", "c", "x/y/z"}, "a/unix/q = 2\na/unix/q = 2\nc/unix/p = 1\n",
		`unmatched request: "x/y/z"`, false},
	{"07-duplicates", "M", []string{"pick*"}, "", "-M option requires service_name[/type]", true},
	{"07-duplicates", "M", []string{"a/unix/x"}, "", "-M option requires service_name[/type]", true},
	{"07-duplicates", "F", []string{"a/unix/bogus"}, "", `invalid service attribute name: "bogus"`, true},
	{"07-duplicates", "F", []string{"a/unix/x/y"}, "", "-F option requires service_name[/type[/field]]", true},
	{"07-duplicates", "P", []string{"/a"}, "", "-P option requires service_name[/type[/parameter]]", true},
}

func TestSelect(t *testing.T) {
	for _, tc := range selections {
		data, err := os.ReadFile("testdata/" + tc.file + ".master.cf")
		if err != nil {
			t.Fatal(err)
		}
		f, _ := Parse(tc.file, string(data))
		got, warnings, err := render(t, f, tc.mode, tc.args...)
		switch {
		case tc.fatal:
			if err == nil || err.Error() != tc.warning || got != "" {
				t.Errorf("-%s %v: err %v, output %q; want error %q", tc.mode, tc.args, err, got, tc.warning)
			}
		case tc.want == "":
		case err != nil || got != tc.want || strings.Join(warnings, "\n") != tc.warning:
			t.Errorf("-%s %v:\n--- got (%v, warnings %q)\n%s--- want (warning %q)\n%s",
				tc.mode, tc.args, err, warnings, got, tc.warning, tc.want)
		}
	}
}

// postconf runs the real postconf on master.cf text. The files get an old
// modification time: postconf waits while a file looks freshly written.
func postconf(t *testing.T, master string, args ...string) (stdout string, warnings []string, err error) {
	t.Helper()
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for name, text := range map[string]string{"main.cf": "", "master.cf": master} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	var stderr strings.Builder
	cmd := exec.Command("postconf", append([]string{"-c", dir}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output() // a fatal error costs a second: postconf sleeps before exiting
	for _, line := range strings.Split(stderr.String(), "\n") {
		if msg, ok := strings.CutPrefix(line, "postconf: warning: "); ok && strings.HasPrefix(msg, "unmatched request") {
			warnings = append(warnings, msg)
		} else if msg, ok := strings.CutPrefix(line, "postconf: fatal: "); ok {
			warnings = append(warnings, msg)
		}
	}
	return string(out), warnings, err
}

func needPostconf(t *testing.T) {
	if _, err := exec.LookPath("postconf"); err != nil {
		t.Skip("postconf (Postfix) is not installed; golden files stand in for it")
	}
}

// TestAgainstPostconf compares our output with the real postconf on every
// testdata file, the bundled default and the selections.
func TestAgainstPostconf(t *testing.T) {
	needPostconf(t)
	texts := map[string]string{"Default()": Default()}
	for _, in := range inputs(t) {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		texts[in] = string(data)
	}
	for name, text := range texts {
		f, _ := Parse(name, text)
		for _, mode := range modes {
			want, _, err := postconf(t, text, "-"+mode)
			if err != nil {
				t.Fatalf("postconf -%s on %s: %v", mode, name, err)
			}
			if got, _, _ := render(t, f, mode); got != want {
				t.Errorf("%s -%s:\n--- got\n%s--- want (postconf)\n%s", name, mode, got, want)
			}
		}
	}
	for _, tc := range selections {
		data, _ := os.ReadFile("testdata/" + tc.file + ".master.cf")
		f, _ := Parse(tc.file, string(data))
		want, wantWarn, _ := postconf(t, string(data), append([]string{"-" + tc.mode}, tc.args...)...)
		got, warnings, err := render(t, f, tc.mode, tc.args...)
		if err != nil {
			warnings = append(warnings, err.Error())
		}
		if got != want || strings.Join(warnings, "\n") != strings.Join(wantWarn, "\n") {
			t.Errorf("-%s %v:\n--- got %q\n%s--- want %q\n%s", tc.mode, tc.args, warnings, got, wantWarn, want)
		}
	}
}
