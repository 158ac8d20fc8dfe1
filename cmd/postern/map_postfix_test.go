package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// postfixTool finds one of Debian's Postfix programs for a differential
// test, or skips (fails under CI=true, where the oracle must be there).
func postfixTool(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (Postfix) is required for the differential tests when CI=true", name)
	}
	t.Skipf("%s not installed: skipping the differential test against Postfix", name)
	return ""
}

// runTool runs a program and returns its stdout, stderr and exit status.
func runTool(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "POSTERN_CONFIG_DIR=")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// withoutProgram drops the "postmap: " / "postern: " (or other) program
// name that starts each stderr line, so the messages compare.
func withoutProgram(stderr string, progs ...string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		for _, p := range progs {
			l = strings.TrimPrefix(l, p+": ")
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// postern map (postmap) warns about the regexp and cidr rules it skips —
// bad $n, unclosed delimiter, unknown flag, bad mask or network — with
// postmap's words, and answers the good rules alike: each file of
// testdata/badrules queried with the same keys through Debian's postmap
// and postern, stdout, stderr and exit status compared.
func TestMapWarnsAboutSkippedRulesLikePostmap(t *testing.T) {
	postmap := postfixTool(t, "postmap")
	cfg := t.TempDir()
	os.WriteFile(filepath.Join(cfg, "main.cf"), []byte("compatibility_level = 3.6\n"), 0o644)
	files, _ := filepath.Glob("testdata/badrules/*")
	if len(files) == 0 {
		t.Fatal("no files in testdata/badrules")
	}
	keys := []string{"ab", "ok", "c", "g", "192.0.2.7", "10.1.1.1", "192.0.2.6"}
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		spec := strings.TrimPrefix(filepath.Ext(f), ".") + ":" + abs
		for _, k := range keys {
			wantOut, wantErr, wantCode := runTool(t, postmap, "-c", cfg, "-q", k, spec)
			gotOut, gotErr, gotCode := runBin(t, "postmap", "-c", cfg, "-q", k, spec)
			if gotOut != wantOut || gotCode != wantCode {
				t.Errorf("%s -q %s: postern %q exit %d, postmap %q exit %d", f, k, gotOut, gotCode, wantOut, wantCode)
			}
			if g, w := withoutProgram(gotErr, "postern"), withoutProgram(wantErr, "postmap"); g != w {
				t.Errorf("%s -q %s: stderr\npostern:\n%s\npostmap:\n%s", f, k, g, w)
			}
		}
		if !strings.Contains(runBinErr(t, "postern", "map", "-s", spec), "warning: ") {
			t.Errorf("%s: postern map -s does not warn about the skipped rules", f)
		}
	}
}

func runBinErr(t *testing.T, name string, args ...string) string {
	t.Helper()
	_, e, _ := runBin(t, name, args...)
	return e
}
