package aliases

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/maps"
)

// TestParseMatchesPostalias compares Parse with what postalias 3.7.11
// stored for testdata/postalias.in ("postalias -s", sorted; the
// Sendmail/NIS marker entries left out) and the warnings it printed. The
// one deliberate difference: postalias names the database in the
// duplicate-entry warning ("pa.db: duplicate entry"), Parse names the
// source line, as maps.Build does.
func TestParseMatchesPostalias(t *testing.T) {
	in, _ := os.ReadFile("testdata/postalias.in")
	golden, _ := os.ReadFile("testdata/postalias.golden")
	wantWarnings, _ := os.ReadFile("testdata/postalias.warnings")
	entries, warnings := Parse("pa", string(in))
	var got []string
	for _, e := range entries {
		got = append(got, e.Name+"\t"+e.Value)
	}
	slices.Sort(got)
	if want := strings.Split(strings.TrimSuffix(string(golden), "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if want := strings.TrimSuffix(string(wantWarnings), "\n"); strings.Join(warnings, "\n") != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), want)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Entry
		warnings []string
	}{
		{"continuation keeps line of first", "a: b,\n c\n\nd: e\n",
			[]Entry{{"a", "b, c", 1}, {"d", "e", 4}}, nil},
		{"comment inside continuation", "a: b,\n# x\n c\n",
			[]Entry{{"a", "b, c", 1}}, nil},
		{"quoted name folded", "\"Foo Bar\": x\n",
			[]Entry{{"foo bar", "x", 1}}, nil},
		{"quoted name with # and @", "\"a#b@c\": x\n",
			[]Entry{{"a#b@c", "x", 1}}, nil},
		{"unicode name folded like maps", "Straße: x\n",
			[]Entry{{"strasse", "x", 1}}, nil},
		{"empty value", "a:\n", nil, []string{"f, line 1: need name:value pair"}},
		{"only a comment as value", "a: (just a comment)\n",
			[]Entry{{"a", "(just a comment)", 1}}, nil},
		{"two names", "a, b: c\n", nil, []string{"f, line 1: need name:value pair"}},
		{"non-local", "a@b: c\nx%y: z\n", nil,
			[]string{"f, line 1: name must be local", "f, line 2: name must be local"}},
		{"non-UTF-8", "a: caf\xe9\nb: c\n", []Entry{{"b", "c", 2}},
			[]string{"f, line 1: non-UTF-8 input \"a: caf?\" -- ignoring this line"}},
		{"duplicate after folding", "A: 1\na: 2\n", []Entry{{"a", "1", 1}},
			[]string{"f, line 2: duplicate entry: \"a\""}},
		{"warnings in file order", "  x: y\nbad\n", nil,
			[]string{"f: logical line must not start with whitespace: \"  x: y\"", "f, line 2: need name:value pair"}},
		{"CRLF file", "a: b\r\n c\r\n", []Entry{{"a", "b c", 1}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warnings := Parse("f", tt.in)
			if !slices.Equal(got, tt.want) {
				t.Errorf("entries %+v, want %+v", got, tt.want)
			}
			if !slices.Equal(warnings, tt.warnings) {
				t.Errorf("warnings %q, want %q", warnings, tt.warnings)
			}
		})
	}
}

func TestBuildReadBackThroughMaps(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "aliases")
	data := "# test\nPostmaster: root\nroot: alice,\n  bob\nStraße: x\n\"Quoted Name\": y\nbad\n"
	if err := os.WriteFile(src, []byte(data), 0o640); err != nil {
		t.Fatal(err)
	}
	warnings, err := Build(src)
	if err != nil {
		t.Fatal(err)
	}
	if want := src + ", line 7: need name:value pair"; strings.Join(warnings, "|") != want {
		t.Errorf("warnings %q", warnings)
	}
	st, err := os.Stat(src + ".cdb")
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("database: %v %v", st, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
	for _, typ := range []string{"hash", "cdb", "btree", "lmdb"} {
		tbl, err := maps.Open(typ + ":" + src)
		if err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]string{
			"postmaster": "root", "POSTMASTER": "root", "root": "alice, bob",
			"STRASSE": "x", "strasse": "x", "quoted name": "y",
		} {
			if v, ok, err := tbl.Lookup(key); !ok || err != nil || v != want {
				t.Errorf("%s: %s = %q %v %v, want %q", typ, key, v, ok, err, want)
			}
		}
		if _, ok, _ := tbl.Lookup("bad"); ok {
			t.Errorf("%s: bad line stored", typ)
		}
		maps.Close(tbl)
	}

	// Rebuilding replaces the database; an open reader keeps its view.
	old, _ := maps.Open("hash:" + src)
	defer maps.Close(old)
	os.WriteFile(src, []byte("root: carol\n"), 0o640)
	if _, err := Build(src); err != nil {
		t.Fatal(err)
	}
	neu, _ := maps.Open("hash:" + src)
	defer maps.Close(neu)
	if v, _, _ := old.Lookup("root"); v != "alice, bob" {
		t.Errorf("old reader sees %q", v)
	}
	if v, _, _ := neu.Lookup("root"); v != "carol" {
		t.Errorf("new reader sees %q", v)
	}
}

func TestBuildErrors(t *testing.T) {
	_, err := Build(filepath.Join(t.TempDir(), "missing"))
	if err == nil || !strings.HasSuffix(err.Error(), "missing: no such file or directory") {
		t.Errorf("missing source: %v", err)
	}
	// An unwritable directory (root ignores permissions, so use a file
	// where the directory should be).
	dir := t.TempDir()
	src := filepath.Join(dir, "aliases")
	os.WriteFile(src, []byte("a: b\n"), 0o644)
	os.Mkdir(src+".cdb", 0o755)
	if _, err := Build(src); err == nil {
		t.Error("rename over a directory succeeded")
	}
}

func TestBuildChownsToSourceOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	src := filepath.Join(t.TempDir(), "aliases")
	os.WriteFile(src, []byte("a: b\n"), 0o644)
	if err := os.Chown(src, 54321, 54322); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(src); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(src + ".cdb")
	if uid, gid := owner(st); uid != 54321 || gid != 54322 {
		t.Errorf("owner %d:%d", uid, gid)
	}
}

// TestFoldMatchesMaps checks that names Build stores are found by the
// maps cdb reader, which folds queries with its own copy of the rules.
func TestFoldMatchesMaps(t *testing.T) {
	names := []string{"ASCII", "ÄÖÜ", "STRAẞE", "ﬁx", "ΣΑΣ", "Kelvin\u212a"}
	src := filepath.Join(t.TempDir(), "aliases")
	var b strings.Builder
	for i, n := range names {
		b.WriteString("\"" + n + "\": v" + string(rune('0'+i)) + "\n")
	}
	os.WriteFile(src, []byte(b.String()), 0o644)
	if _, err := Build(src); err != nil {
		t.Fatal(err)
	}
	tbl, err := maps.Open("cdb:" + src)
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close(tbl)
	for i, n := range names {
		for _, q := range []string{n, strings.ToUpper(n), strings.ToLower(n)} {
			if v, ok, _ := tbl.Lookup(q); !ok || v != "v"+string(rune('0'+i)) {
				t.Errorf("%q (stored as %q): %q %v", q, Fold(n), v, ok)
			}
		}
	}
}
