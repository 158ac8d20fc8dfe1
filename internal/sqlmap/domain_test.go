package sqlmap

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDomainList(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "domains")
	os.WriteFile(file, []byte("# hosted\nfile.example  other.example\n!not.example\n"), 0o644)
	table := filepath.Join(dir, "table")
	os.WriteFile(table, []byte("table.example ok\n"), 0o644)
	l, err := parseDomainList("Example.COM, !sub.example.com " + file + ", texthash:" + table)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	for d, want := range map[string]bool{
		"example.com":     true,
		"EXAMPLE.com":     true,
		"sub.example.com": false, // not a parent-domain match, and negated
		"file.example":    true,
		"other.example":   true,
		"not.example":     false,
		"table.example":   true,
		"Table.Example":   true,
		"elsewhere.test":  false,
	} {
		if got, err := l.match(d); got != want || err != nil {
			t.Errorf("match(%q) = %v, %v; want %v", d, got, err, want)
		}
	}
	if _, err := parseDomainList("!"); err == nil {
		t.Error("a lone ! is accepted")
	}
	if _, err := parseDomainList("/nonexistent/file"); err == nil {
		t.Error("a missing file is accepted")
	}
}
