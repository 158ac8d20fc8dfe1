package postconf

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// decodeLines parses JSON Lines of {"name","value"} objects, failing t on
// anything else.
func decodeLines(t *testing.T, out string) (names []string, values map[string]string) {
	t.Helper()
	values = map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var p struct{ Name, Value *string }
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil || p.Name == nil || p.Value == nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		names = append(names, *p.Name)
		values[*p.Name] = *p.Value
	}
	if out != "" && !strings.HasSuffix(out, "\n") {
		t.Fatalf("no final newline")
	}
	return names, values
}

// decodeText parses postconf's "name = value" lines.
func decodeText(t *testing.T, out string) (names []string, values map[string]string) {
	t.Helper()
	values = map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		n, v, ok := strings.Cut(l, " =")
		if !ok {
			t.Fatalf("text line %q", l)
		}
		v = strings.TrimPrefix(v, " ")
		names = append(names, n)
		values[n] = v
	}
	return names, values
}

// Every parameter of `conf -d` (and -n, -x, named ones) comes out of -j
// with the text output's name, value and order.
func TestConfJSONMatchesText(t *testing.T) {
	dir := writeMain(t, "myorigin = $mydomain\nrelayhost = [mx.example]:587\nmynetworks = 127.0.0.0/8\n    [::1]/128\n")
	for _, args := range [][]string{{"-d"}, {}, {"-n"}, {"-x"}, {"-nx"}, {"-d", "myorigin", "mydestination"}, {"-x", "myorigin", "mynetworks"}} {
		text, e1, c1 := conf(t, dir, args...)
		js, e2, c2 := conf(t, dir, append([]string{"-j"}, args...)...)
		if c1 != 0 || c2 != 0 || e1 != e2 {
			t.Fatalf("%q: exit %d/%d, stderr %q / %q", args, c1, c2, e1, e2)
		}
		tn, tv := decodeText(t, text)
		jn, jv := decodeLines(t, js)
		if strings.Join(tn, " ") != strings.Join(jn, " ") {
			t.Errorf("%q: names differ:\ntext %v\njson %v", args, tn, jn)
		}
		for n, v := range tv {
			if jv[n] != v {
				t.Errorf("%q: %s: json %q, text %q", args, n, jv[n], v)
			}
		}
		if args == nil || len(args) == 1 && args[0] == "-d" {
			if len(jn) < 500 {
				t.Errorf("%q: only %d parameters", args, len(jn))
			}
		}
	}
}

// Values with quotes, backslashes, control characters and bytes that are
// not UTF-8 still give valid JSON.
func TestConfJSONHostileValues(t *testing.T) {
	dir := writeMain(t, "smtpd_banner = a\"b\\c \x01\x7f \xff\xfe <&> é\n")
	out, e, code := conf(t, dir, "-j", "smtpd_banner")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, e)
	}
	_, v := decodeLines(t, out)
	if want := "a\"b\\c \x01\x7f \ufffd\ufffd <&> é"; v["smtpd_banner"] != want {
		t.Errorf("got %q, want %q (raw %s)", v["smtpd_banner"], want, out)
	}
}

func TestConfJSONOptionConflicts(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-jh"}, "specify one of -h -j"},
		{[]string{"-jH"}, "specify one of -H -j"},
		{[]string{"-jf"}, "specify one of -f -j"},
		{[]string{"-je", "a=b"}, "specify one of -e -j"},
		{[]string{"-jX", "a"}, "specify one of -j -X"},
		{[]string{"-Mjh"}, "specify one of -h -j"},
		{[]string{"-Mjf"}, "specify one of -f -j"},
		{[]string{"-Fj"}, "with option -F, do not specify -j"},
		{[]string{"-Pj"}, "with option -P, do not specify -j"},
	} {
		if _, err := parseOptions(tt.args); err == nil || err.Error() != tt.want {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.want)
		}
	}
	if o, err := parseOptions([]string{"-dj", "-x"}); err != nil || !o.json || !o.defaults || !o.expand {
		t.Errorf("-dj -x: %+v %v", o, err)
	}
}

// -Mj gives one object per entry -M shows, columns as written, arguments
// in postconf's canonical form; -x expands the -o values.
func TestConfMasterJSON(t *testing.T) {
	dir := writeMain(t, "myhostname = mx.example\n")
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte("smtp inet n - y - - smtpd\n"+
		"submission inet n - y - - smtpd -o syslog_name=$myhostname/sub\n"+
		"  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject } -v\n"), 0o644)
	type entry struct {
		Service, Type, Private, Unprivileged, Chroot, Wakeup string
		ProcessLimit                                         string `json:"process_limit"`
		Command                                              string
		Args                                                 []string
	}
	decode := func(out string) []entry {
		var list []entry
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			var e entry
			dec := json.NewDecoder(strings.NewReader(l))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			list = append(list, e)
		}
		return list
	}
	sub := entry{"submission", "inet", "n", "-", "y", "-", "-", "smtpd",
		[]string{"-o", "syslog_name=$myhostname/sub", "-o", "smtpd_client_restrictions=permit_sasl_authenticated, reject", "-v"}}
	out, e, code := conf(t, dir, "-Mj")
	want := []entry{{"smtp", "inet", "n", "-", "y", "-", "-", "smtpd", []string{}}, sub}
	if got := decode(out); code != 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("-Mj: exit %d %q\ngot  %+v\nwant %+v", code, e, got, want)
	}
	out, e, code = conf(t, dir, "-Mjx", "submission", "nosuch/unix")
	sub.Args[1] = "syslog_name=mx.example/sub"
	if got := decode(out); code != 0 || !reflect.DeepEqual(got, []entry{sub}) || !strings.Contains(e, `unmatched request: "nosuch/unix"`) {
		t.Errorf("-Mjx: exit %d %q %+v", code, e, got)
	}
	// The bundled default master.cf: as many objects as -M entries.
	os.Remove(filepath.Join(dir, "master.cf"))
	text, _, _ := conf(t, dir, "-M")
	js, _, _ := conf(t, dir, "-Mj")
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if l != "" && l[0] != ' ' {
			n++
		}
	}
	if got := len(decode(js)); n < 10 || got != n {
		t.Errorf("default master.cf: %d objects, %d entries", got, n)
	}
}
