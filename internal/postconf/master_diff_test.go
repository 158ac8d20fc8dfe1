package postconf

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mcfCase is one line of testdata/mcfedit/cases: a master.cf input and
// the postconf arguments to run on it.
type mcfCase struct {
	line  int
	input string
	args  []string
}

func readMcfCases(t *testing.T) []mcfCase {
	t.Helper()
	data, err := os.ReadFile("testdata/mcfedit/cases")
	if err != nil {
		t.Fatal(err)
	}
	var cases []mcfCase
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		cases = append(cases, mcfCase{line: i + 1, input: f[0], args: f[1:]})
	}
	return cases
}

// mcfDir makes a configuration directory with testdata/mcfedit's main.cf
// and the named input as master.cf.
func mcfDir(t *testing.T, input string) string {
	t.Helper()
	dir := t.TempDir()
	for src, dst := range map[string]string{"main.cf": "main.cf", input: "master.cf"} {
		data, err := os.ReadFile(filepath.Join("testdata/mcfedit", src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestDifferentialMasterEdit runs every case of testdata/mcfedit/cases
// through Postfix's postconf and through postern conf, each on its own
// copy of the same directory, and compares stdout, exit status,
// diagnostics and the main.cf and master.cf left behind, byte for byte.
func TestDifferentialMasterEdit(t *testing.T) {
	postconf := postconfPath(t)
	for _, c := range readMcfCases(t) {
		t.Run(strings.TrimSuffix(c.input, ".cf")+"-"+strconv.Itoa(c.line), func(t *testing.T) {
			t.Parallel() // postconf sleeps a second before each fatal exit
			dir := mcfDir(t, c.input)
			compareWithPostconf(t, postconf, dir, append([]string{"-c", dir}, c.args...))
		})
	}
}
