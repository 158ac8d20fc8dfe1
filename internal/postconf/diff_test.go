package postconf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern-mta/postern/internal/config"
)

// The differential test runs Postfix's postconf and ours on the same
// configuration directories (testdata/diff/NN-name) and compares stdout
// and exit status exactly and diagnostics as sets. Each directory may hold
// a `cmds` file: one postconf argument list per line; `NAMES` stands for
// every parameter postern implements with Postfix's default.
func TestDifferentialPostconf(t *testing.T) {
	postconf := postconfPath(t)
	dirs, err := filepath.Glob("testdata/diff/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no differential cases: %v", err)
	}
	for _, dir := range dirs {
		abs, _ := filepath.Abs(dir)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel() // postconf sleeps a second before each fatal exit
			for _, args := range caseCommands(t, abs) {
				full := append([]string{"-c", abs}, args...)
				compareWithPostconf(t, postconf, abs, full)
			}
		})
	}
}

// TestDifferentialDefaults compares postconf -d for every implemented name.
func TestDifferentialDefaults(t *testing.T) {
	postconf := postconfPath(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), nil, 0o644)
	var derived []string
	for _, n := range independentNames() {
		if !derivedFromDiffering[n] {
			derived = append(derived, n)
		}
	}
	for _, args := range [][]string{append([]string{"-d"}, derived...), append([]string{"-dx"}, derived...)} {
		compareWithPostconf(t, postconf, dir, args)
	}
}

func postconfPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("postconf")
	if err != nil {
		p = "/usr/sbin/postconf"
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("postconf is not installed, but CI must run the differential test (see scripts/install-test-deps)")
			}
			t.Skip("postconf (Debian package postfix) is not installed: run scripts/install-test-deps")
		}
	}
	return p
}

// derivedFromDiffering are defaults computed (not written as $name) from
// a parameter postern changes: mynetworks follows mynetworks_style, which
// follows compatibility_level.
var derivedFromDiffering = map[string]bool{"mynetworks": true}

// comparableNames are the implemented Postfix parameters whose default
// postern keeps as Postfix has it.
func comparableNames() []string {
	var out []string
	for _, n := range config.Names() {
		if _, differs := config.DifferFromPostfix[n]; !differs && config.KnownToPostfix(n) {
			out = append(out, n)
		}
	}
	return out
}

// independentNames are comparable names whose default does not refer,
// directly or through other defaults, to a parameter postern changes
// (smtpd_banner says $mail_name, postscreen_greet_banner $smtpd_banner).
func independentNames() []string {
	var out []string
	for _, n := range comparableNames() {
		if !refersToDiffering(n, map[string]bool{}) {
			out = append(out, n)
		}
	}
	return out
}

func refersToDiffering(name string, seen map[string]bool) bool {
	if seen[name] {
		return false
	}
	seen[name] = true
	def, _ := config.New("", nil).Default(name)
	return slices.ContainsFunc(config.References(def), func(r string) bool {
		_, d := config.DifferFromPostfix[r]
		return d || derivedFromDiffering[r] || refersToDiffering(r, seen)
	})
}

// postfixDefaults are -o settings that give postern's changed parameters
// that main.cf leaves unset Postfix's values, so -x output can be compared.
func postfixDefaults(dir string) []string {
	mf, _ := config.ReadMainFile(filepath.Join(dir, "main.cf"))
	var out []string
	for n, v := range config.DifferFromPostfix {
		if _, set := mf.Values[n]; !set && n != "config_directory" {
			out = append(out, "-o", n+"="+v)
		}
	}
	return out
}

func caseCommands(t *testing.T, dir string) [][]string {
	data, err := os.ReadFile(filepath.Join(dir, "cmds"))
	if os.IsNotExist(err) {
		data = []byte("-n\n-nx\n-h PFDEFAULTS NAMES\n-x PFDEFAULTS NAMES\n")
	} else if err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		var args []string
		for _, f := range strings.Fields(line) {
			switch f {
			case "NAMES":
				args = append(args, comparableNames()...)
			case "PFDEFAULTS":
				args = append(args, postfixDefaults(dir)...)
			default:
				args = append(args, f)
			}
		}
		cmds = append(cmds, args)
	}
	return cmds
}

func compareWithPostconf(t *testing.T, postconf, dir string, args []string) {
	t.Helper()
	// Edits change the directory: run each side on its own copy.
	theirDir, ourDir := copyDir(t, dir), copyDir(t, dir)
	theirArgs := replaceDir(args, dir, theirDir)
	ourArgs := replaceDir(args, dir, ourDir)

	cmd := exec.Command(postconf, theirArgs...)
	cmd.Args[0] = "postconf" // diagnostics start with argv[0]
	cmd.Env = append(os.Environ(), "LANG=C")
	var tOut, tErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &tOut, &tErr
	theirCode := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run postconf: %v", err)
		}
		theirCode = ee.ExitCode()
	}
	var oOut, oErr bytes.Buffer
	ourCode := Run(ourArgs, Env{Stdout: &oOut, Stderr: &oErr, Prog: "postconf", Getenv: func(string) string { return "" }})

	label := strings.Join(args, " ")
	if len(label) > 60 {
		label = label[:60] + "..."
	}
	label = strings.ReplaceAll(label, dir, "DIR")
	theirStdout := strings.ReplaceAll(tOut.String(), theirDir, "DIR")
	ourStdout := strings.ReplaceAll(oOut.String(), ourDir, "DIR")
	if theirStdout != ourStdout {
		t.Errorf("postconf %s: stdout differs\n--- postconf\n%s--- postern\n%s", label, theirStdout, ourStdout)
	}
	if theirCode != ourCode {
		t.Errorf("postconf %s: exit %d, postern exit %d\nstderr postconf:\n%spostern:\n%s", label, theirCode, ourCode, tErr.String(), oErr.String())
	}
	theirs := diagSet(tErr.String(), theirDir)
	ours := diagSet(oErr.String(), ourDir)
	for _, l := range ours {
		if !slices.Contains(theirs, l) {
			t.Errorf("postconf %s: postern printed %q, postconf did not (postconf: %q)", label, l, theirs)
		}
	}
	for _, l := range theirs {
		if !slices.Contains(ours, l) && !postconfArtefact(l) {
			t.Errorf("postconf %s: postconf printed %q, postern did not (postern: %q)", label, l, ours)
		}
	}
	for _, name := range []string{"main.cf", "master.cf"} {
		if a, b := readOr(filepath.Join(theirDir, name)), readOr(filepath.Join(ourDir, name)); a != b {
			t.Errorf("postconf %s: %s after the command differs\n--- postconf\n%s--- postern\n%s", label, name, a, b)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(ourDir, ".*")); len(tmp) > 0 {
		t.Errorf("postconf %s: postern left %q behind", label, tmp)
	}
}

// postconfArtefact matches diagnostics postconf repeats with stale line
// numbers because it reads main.cf several times; postern prints each once.
func postconfArtefact(l string) bool {
	return strings.Contains(l, "overriding earlier entry")
}

func diagSet(s, dir string) []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, dir, "DIR"), "\n") {
		if l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

func replaceDir(args []string, from, to string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, from, to)
	}
	return out
}

func copyDir(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "master.cf")); os.IsNotExist(err) {
		os.WriteFile(filepath.Join(dst, "master.cf"), nil, 0o644)
	}
	// Postfix waits until a freshly written file is a second or two old.
	old := time.Now().Add(-time.Hour)
	for _, f := range []string{"main.cf", "master.cf"} {
		os.Chtimes(filepath.Join(dst, f), old, old)
	}
	return dst
}

func readOr(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
