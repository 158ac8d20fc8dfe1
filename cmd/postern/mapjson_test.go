package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/jsonlines"
	"github.com/postern-mta/postern/internal/maps"
)

// jsonEntries parses `postern map -j` output, failing t unless every line
// is one {"key","table","value"} object.
func jsonEntries(t testing.TB, out string) []jsonlines.Entry {
	t.Helper()
	var list []jsonlines.Entry
	if out != "" && !strings.HasSuffix(out, "\n") {
		t.Fatalf("no final newline: %q", out)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var e struct{ Key, Table, Value *string }
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil || e.Key == nil || e.Table == nil || e.Value == nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		list = append(list, jsonlines.Entry{Key: *e.Key, Table: *e.Table, Value: *e.Value})
	}
	return list
}

// hostileTables writes a texthash:, a cidr: and a regexp: table whose
// keys and values hold quotes, backslashes and control characters; the
// regexp: table echoes the key into the value. (Tables refuse input that
// is not UTF-8, as Postfix's do with smtputf8_enable = yes; such a key
// reaches the output through static:.)
func hostileTables(t testing.TB) (th, cidr, re string) {
	dir := t.TempDir()
	th = "texthash:" + filepath.Join(dir, "th")
	cidr = "cidr:" + filepath.Join(dir, "cidr")
	re = "regexp:" + filepath.Join(dir, "re")
	os.WriteFile(strings.TrimPrefix(th, "texthash:"), []byte("\"a\\b\" quote\"and\\back\nctl\x01\x1f x\x7fy\nk\\\x02\"\" \x1b[31m\n192.0.2.1 plain\n"), 0o644)
	os.WriteFile(strings.TrimPrefix(cidr, "cidr:"), []byte("192.0.2.0/24 net\"\\\x01\n"), 0o644)
	os.WriteFile(strings.TrimPrefix(re, "regexp:"), []byte("/^(.*)$/ echo:$1\n"), 0o644)
	return th, cidr, re
}

func TestMapJSONQuery(t *testing.T) {
	th, cidr, re := hostileTables(t)
	tests := []struct {
		key  string
		want []jsonlines.Entry
	}{
		{"\"a\\b\"", []jsonlines.Entry{{Key: "\"a\\b\"", Table: th, Value: "quote\"and\\back"}, {Key: "\"a\\b\"", Table: re, Value: "echo:\"a\\b\""}}},
		{"ctl\x01\x1f", []jsonlines.Entry{{Key: "ctl\x01\x1f", Table: th, Value: "x\x7fy"}, {Key: "ctl\x01\x1f", Table: re, Value: "echo:ctl\x01\x1f"}}},
		{"k\\\x02\"\"", []jsonlines.Entry{{Key: "k\\\x02\"\"", Table: th, Value: "\x1b[31m"}, {Key: "k\\\x02\"\"", Table: re, Value: "echo:k\\\x02\"\""}}},
		{"192.0.2.1", []jsonlines.Entry{{Key: "192.0.2.1", Table: th, Value: "plain"}, {Key: "192.0.2.1", Table: cidr, Value: "net\"\\\x01"}, {Key: "192.0.2.1", Table: re, Value: "echo:192.0.2.1"}}},
	}
	for _, tt := range tests {
		out, e, code := runBin(t, "postern", "map", "-jq", tt.key, th, cidr, re, "static:any")
		tt.want = append(tt.want, jsonlines.Entry{Key: tt.key, Table: "static:any", Value: "any"})
		got := jsonEntries(t, out)
		if code != 0 || len(got) != len(tt.want) {
			t.Errorf("%q: exit %d, %d lines %q, stderr %q", tt.key, code, len(got), out, e)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q: line %d %+v, want %+v", tt.key, i, got[i], tt.want[i])
			}
		}
	}
	// A key that is not UTF-8 is found nowhere, as in Postfix with
	// smtputf8_enable = yes; a table whose file name is not UTF-8 is
	// named with U+FFFD.
	if out, _, code := runBin(t, "postern", "map", "-jq", "bad\xff", th, re, "static:any"); code != 1 || out != "" {
		t.Errorf("non-UTF-8 key: exit %d %q", code, out)
	}
	odd := filepath.Join(t.TempDir(), "t\xff\xfe")
	os.WriteFile(odd, []byte("k v\n"), 0o644)
	out, e, code := runBin(t, "postern", "map", "-jq", "k", "texthash:"+odd)
	if got := jsonEntries(t, out); code != 0 || len(got) != 1 || got[0].Table != "texthash:"+strings.ToValidUTF8(odd, "\ufffd\ufffd") {
		t.Errorf("non-UTF-8 table name: exit %d %q %q", code, out, e)
	}
	// Not found anywhere: no output, exit 1, as postmap -q.
	if out, _, code := runBin(t, "postmap", "-jq", "nobody", th, cidr); code != 1 || out != "" {
		t.Errorf("not found: exit %d %q", code, out)
	}
	if out, e, code := runBin(t, "postern", "map", "-j", "-q", "x", "cidr:/nonexistent/t"); code != 1 || out != "" || e == "" {
		t.Errorf("missing table: exit %d %q %q", code, out, e)
	}
	if _, e, code := runBin(t, "postern", "map", "-j", th); code != 1 || !strings.Contains(e, "-j requires -q or -s") {
		t.Errorf("-j alone: exit %d %q", code, e)
	}
}

// -jq - answers each key of standard input; -js lists; a table that
// cannot be listed is an error, as with -s.
func TestMapJSONStdinAndList(t *testing.T) {
	th, cidr, _ := hostileTables(t)
	cmd := exec.Command(filepath.Join(binDir, "postern"), "map", "-jq", "-", th, cidr)
	cmd.Stdin = strings.NewReader("nobody\n192.0.2.1\n\"a\\b\"\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("-jq -: %v", err)
	}
	got := jsonEntries(t, string(out))
	if len(got) != 3 || got[0].Table != th || got[1].Table != cidr || got[2].Key != "\"a\\b\"" {
		t.Errorf("-jq -: %q", out)
	}
	cmd = exec.Command(filepath.Join(binDir, "postern"), "map", "-jq", "-", th)
	cmd.Stdin = strings.NewReader("nobody\n")
	if out, err := cmd.Output(); len(out) != 0 || err == nil {
		t.Errorf("-jq - with no hit: %q %v, want exit 1", out, err)
	}
	list, e, code := runBin(t, "postern", "map", "-js", th)
	if got := jsonEntries(t, list); code != 0 || len(got) != 4 || got[1].Key != "ctl\x01\x1f" || got[2].Value != "\x1b[31m" {
		t.Errorf("-js: exit %d %q %q", code, list, e)
	}
	if _, e, code := runBin(t, "postern", "map", "-js", cidr); code != 1 || !strings.Contains(e, "sequence operation is not supported") {
		t.Errorf("-js cidr: exit %d %q", code, e)
	}
}

// Whatever the key, -jq output is JSON Lines and the exit status says
// whether a line was written.
func FuzzMapJSON(f *testing.F) {
	th, cidr, re := hostileTables(f)
	var tables []maps.Table
	for _, spec := range []string{th, cidr, re, "static:x\"\\\x01"} {
		tab, err := maps.Open(spec)
		if err != nil {
			f.Fatal(err)
		}
		tables = append(tables, tab)
	}
	for _, s := range []string{"\"a\\b\"", "ctl\x01\x1f", "bad\xff\xfe", "192.0.2.1", "", "\xed\xa0\x80", "\u2028\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		var o, e bytes.Buffer
		code := mapJSON(&o, &e, nil, key, false, tables)
		got := jsonEntries(t, o.String())
		if (code == 0) != (len(got) > 0) || code > 1 {
			t.Fatalf("exit %d with %d lines; stderr %q", code, len(got), e.String())
		}
		// -q - reads the key as one line of input.
		if key == "-" || strings.ContainsAny(key, "\n\r") {
			return
		}
		o.Reset()
		mapJSON(&o, &e, strings.NewReader(key+"\n"), "-", false, tables)
		jsonEntries(t, o.String())
	})
}
