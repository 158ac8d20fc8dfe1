package check

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/inetaddr/inetaddrtest"
	"github.com/postern-mta/postern/internal/testperm"
)

var update = flag.Bool("update", false, "rewrite the expected outputs")

// Each testdata/NN-name folder is a configuration directory; "expected"
// is the report of `postern check -v` on it (DIR stands for the folder),
// on the fake host of inetaddrtest.Standard with hostname "mail".
func TestCases(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/[0-9]*")
	if len(dirs) == 0 {
		t.Fatal("no test cases")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			abs, _ := filepath.Abs(dir)
			// git keeps no file modes: private keys as Debian has them
			keys, _ := filepath.Glob(filepath.Join(dir, "*.key"))
			for _, k := range keys {
				os.Chmod(k, 0o640)
			}
			// and table files as a fresh checkout has them
			cfs, _ := filepath.Glob(filepath.Join(dir, "*.cf"))
			for _, f := range cfs {
				os.Chmod(f, 0o644)
			}
			queue := t.TempDir()
			testperm.OpenDirs(queue) // mail_owner must reach it
			over := map[string]string{"queue_directory": queue, "data_directory": queue}
			// The host's /etc/aliases must not decide the outcome.
			main, _ := os.ReadFile(filepath.Join(dir, "main.cf"))
			for _, n := range []string{"alias_maps", "alias_database"} {
				if !regexp.MustCompile(`(?m)^` + n + `\s*=`).Match(main) {
					over[n] = ""
				}
			}
			rep := Run(abs, Options{Sys: inetaddrtest.Standard(), Hostname: "mail", Overrides: over})
			var out bytes.Buffer
			rep.Write(&out, true)
			got := strings.ReplaceAll(out.String(), abs, "DIR")
			expPath := filepath.Join(dir, "expected")
			if *update {
				os.WriteFile(expPath, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(expPath)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("report differs\n--- want\n%s--- got\n%s", want, got)
			}
		})
	}
}

// Debian's annotated main.cf.dist and master.cf.dist (installed with the
// postfix package the test suite installs) must draw no errors.
func TestDebianDistributionFiles(t *testing.T) {
	const dist = "/usr/share/postfix"
	mainDist, err := os.ReadFile(filepath.Join(dist, "main.cf.dist"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have Debian's postfix installed: %v", err)
		}
		t.Skipf("Debian's postfix is not installed (scripts/install-test-deps): %v", err)
	}
	masterDist, err := os.ReadFile(filepath.Join(dist, "master.cf.dist"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), mainDist, 0o644)
	os.WriteFile(filepath.Join(dir, "master.cf"), masterDist, 0o644)
	queue := t.TempDir()
	testperm.OpenDirs(queue) // mail_owner must reach it
	rep := Run(dir, Options{Sys: inetaddrtest.Standard(), Hostname: "mail",
		Overrides: map[string]string{"queue_directory": queue, "data_directory": queue}})
	if rep.Errors() != 0 {
		var out bytes.Buffer
		rep.Write(&out, false)
		t.Errorf("errors on Debian's distribution files:\n%s", out.String())
	}
}
