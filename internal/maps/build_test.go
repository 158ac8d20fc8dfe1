package maps

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildAndQuery(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "access")
	os.WriteFile(src, []byte("Example.COM OK\nb@x REJECT no\nexample.com DUP\n"), 0o600)
	warnings, err := Build("", src) // a bare name means hash:
	if err != nil {
		t.Fatal(err)
	}
	if want := src + `, line 3: duplicate entry: "example.com"`; strings.Join(warnings, "|") != want {
		t.Errorf("warnings %q", warnings)
	}
	st, err := os.Stat(src + ".cdb")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("database: %v %v", st, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
	for _, typ := range []string{"hash", "btree", "lmdb", "cdb"} {
		tbl, err := Open(typ + ":" + src)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok, err := Query("EXAMPLE.com", tbl); !ok || err != nil || v != "OK" {
			t.Errorf("%s: %q %v %v", typ, v, ok, err)
		}
		Close(tbl)
	}

	// Rebuilding replaces the database; a reader that opened the old
	// one keeps a consistent view.
	old, _ := Open("hash:" + src)
	defer Close(old)
	os.WriteFile(src, []byte("example.com NEW\n"), 0o600)
	if _, err := Build(src, "hash:"+src); err != nil {
		t.Fatal(err)
	}
	neu, _ := Open("hash:" + src)
	defer Close(neu)
	if v, _, _ := old.Lookup("example.com"); v != "OK" {
		t.Errorf("old reader sees %q", v)
	}
	if v, _, _ := neu.Lookup("example.com"); v != "NEW" {
		t.Errorf("new reader sees %q", v)
	}

	// postmap -q - with several tables: the first one that knows a key.
	inl, _ := Open("inline:{b@x=INLINE, other=O}")
	var out bytes.Buffer
	found, err := QueryStream(&out, strings.NewReader("b@x\nnothere\nexample.com\nother\n"), inl, neu)
	if !found || err != nil || out.String() != "b@x\tINLINE\nexample.com\tNEW\nother\tO\n" {
		t.Errorf("QueryStream: %q %v %v", out.String(), found, err)
	}
	found, _ = QueryStream(&out, strings.NewReader("nothere\n"), inl)
	if found {
		t.Error("found a missing key")
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	for spec, want := range map[string]string{
		"cidr:" + dir + "/x":     "unsupported dictionary type: cidr does not support bulk-mode creation.",
		"texthash:" + dir + "/x": "unsupported dictionary type: texthash does not support bulk-mode creation.",
		"hash:":                  `open dictionary: expecting "type:name" form instead of "hash:"`,
		"hash:" + dir + "/none":  "open " + dir + "/none: no such file or directory",
	} {
		if _, err := Build("", spec); err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", spec, err, want)
		}
	}
}

func TestDump(t *testing.T) {
	th, _ := openText(t, "texthash", "B 2\na 1\nb 3\n")
	inl, _ := Open("inline:{Z=1, y=2}")
	for _, tc := range []struct {
		tbl  Table
		want string
	}{
		{th, "b\t2\na\t1\n"},
		{inl, "z\t1\ny\t2\n"},
	} {
		var out bytes.Buffer
		if err := Dump(&out, tc.tbl); err != nil || out.String() != tc.want {
			t.Errorf("%s: %q %v", tc.tbl.Name(), out.String(), err)
		}
	}
	c, _ := openText(t, "cidr", "")
	for _, tbl := range []Table{c, mustOpen(t, "static:x")} {
		err := Dump(&bytes.Buffer{}, tbl)
		if want := "table " + tbl.Name() + ": sequence operation is not supported"; err == nil || err.Error() != want {
			t.Errorf("%v, want %s", err, want)
		}
	}
}

// Each lists what Dump lists, and says when a table cannot be listed.
func TestEach(t *testing.T) {
	tab, err := Open("inline:{a=1, b=2}")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	ok, err := Each(tab, func(k, v string) error { got = append(got, k+"="+v); return nil })
	if !ok || err != nil || strings.Join(got, ",") != "a=1,b=2" {
		t.Errorf("inline: %v %v %q", ok, err, got)
	}
	st, _ := Open("static:x")
	if ok, err := Each(st, func(string, string) error { t.Error("called"); return nil }); ok || err != nil {
		t.Errorf("static: %v %v", ok, err)
	}
}
