package maps

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The *.golden files hold "postmap -q - TYPE:FILE < FILE.keys" output and
// the *.warnings files postmap's warnings (sorted, unique), both recorded
// with Postfix 3.7.11 by testdata/regen.sh. These tests need no Postfix.

func queryAll(t *testing.T, tbl Table, keysFile string) string {
	t.Helper()
	keys, err := os.ReadFile(filepath.Join("testdata", keysFile))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := QueryStream(&out, bytes.NewReader(keys), tbl); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func readGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// uniqueSorted mirrors regen.sh's "sort -u" (Postfix repeats texthash
// warnings when it re-reads a file).
func uniqueSorted(lines []string) string {
	m := map[string]bool{}
	for _, l := range lines {
		m[l] = true
	}
	out := make([]string, 0, len(m))
	for l := range m {
		out = append(out, l)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}

func diffLines(t *testing.T, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Errorf("%s line %d:\n got: %q\nwant: %q", what, i+1, gl, wl)
		}
	}
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct{ spec, keys, name string }{
		{"texthash:testdata/access", "access.keys", "texthash"},
		{"cidr:testdata/cidr.cidr", "cidr.keys", "cidr"},
		{"regexp:testdata/regexp.regexp", "regexp.keys", "regexp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tbl, err := Open(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			diffLines(t, "lookups", queryAll(t, tbl, tc.keys), readGolden(t, tc.name+".golden"))
			diffLines(t, "warnings", uniqueSorted(Warnings(tbl)), readGolden(t, tc.name+".warnings"))
		})
	}
}

// hash: is built by Build into a .cdb and must answer as postmap's .db.
func TestGoldenHash(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "access")
	data, _ := os.ReadFile("testdata/access")
	if err := os.WriteFile(src, data, 0o640); err != nil {
		t.Fatal(err)
	}
	warnings, err := Build("", "hash:"+src)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := Open("hash:" + src)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(tbl)
	diffLines(t, "lookups", queryAll(t, tbl, "access.keys"), readGolden(t, "hash.golden"))
	// postmap words duplicates as `access.db: duplicate entry: "dup"`;
	// Build names the source line instead.
	var ours []string
	for _, w := range warnings {
		if !strings.Contains(w, "duplicate entry") {
			ours = append(ours, strings.ReplaceAll(w, dir+"/", "testdata/"))
		}
	}
	var want []string
	for _, w := range strings.Split(strings.TrimSpace(readGolden(t, "hash.warnings")), "\n") {
		if !strings.Contains(w, "duplicate entry") {
			want = append(want, w)
		}
	}
	diffLines(t, "warnings", uniqueSorted(ours), uniqueSorted(want))
	if st, _ := os.Stat(src + ".cdb"); st == nil || st.Mode().Perm() != 0o640 {
		t.Errorf("database mode: %v, want 0640 like the source", st)
	}
}
