package maps

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Differential tests: where Postfix's postmap is installed, run
// "postmap -q - TYPE:FILE" on the same tables and keys and compare with
// postern. Postfix itself is never started. Without postmap the tests
// skip, except under CI=true where a missing oracle is a failure.

type oracle struct{ bin, cfg string }

func newOracle(t *testing.T) *oracle {
	t.Helper()
	bin, err := exec.LookPath("postmap")
	if err != nil {
		bin = "/usr/sbin/postmap" // often not in a user's PATH
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("postmap (Postfix) is required for the differential tests when CI=true")
			}
			t.Skip("postmap not installed: skipping the differential test against Postfix")
		}
	}
	// A private configuration directory: postmap refuses to run without
	// main.cf. Level 3.6 enables smtputf8 like postern's defaults.
	cfg := t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg, "main.cf"), []byte("compatibility_level = 3.6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &oracle{bin: bin, cfg: cfg}
}

// answer is postmap's reply for one key.
type answer struct {
	value string
	found bool
}

// run feeds keys to "postmap -q - spec". Warnings lose the "postmap:
// warning: " prefix; query-time warnings about empty results are dropped.
func (o *oracle) run(t *testing.T, spec string, keys []string) (out string, warnings []string, fatal string) {
	t.Helper()
	cmd := exec.Command(o.bin, "-c", o.cfg, "-q", "-", spec)
	cmd.Stdin = strings.NewReader(strings.Join(keys, "\n") + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Error(err) // not Fatal: run is also called from goroutines
	}
	for _, l := range strings.Split(stderr.String(), "\n") {
		switch {
		case strings.HasPrefix(l, "postmap: fatal: "):
			fatal = strings.TrimPrefix(l, "postmap: fatal: ")
		case strings.HasPrefix(l, "postmap: warning: table "):
		case strings.HasPrefix(l, "postmap: warning: "):
			warnings = append(warnings, strings.TrimPrefix(l, "postmap: warning: "))
		}
	}
	return stdout.String(), warnings, fatal
}

// queryAll answers many keys with one postmap run. postmap prints only
// found keys, in input order, as "key<TAB>value". A fatal lookup error
// stops postmap, so then each key is asked on its own; answers of keys
// that fail are left out and their fatal message returned in fatals.
func (o *oracle) queryAll(t *testing.T, spec string, keys []string) (map[string]answer, []string, map[string]string) {
	t.Helper()
	out, warnings, fatal := o.run(t, spec, keys)
	answers, fatals := map[string]answer{}, map[string]string{}
	if fatal != "" && len(keys) == 1 {
		fatals[keys[0]] = fatal
		return answers, warnings, fatals
	}
	if fatal != "" {
		warnings = nil
		for _, k := range keys {
			a, w, f := o.queryAll(t, spec, []string{k})
			warnings = append(warnings, w...)
			if f[k] != "" {
				fatals[k] = f[k]
			} else {
				answers[k] = a[k]
			}
		}
		return answers, warnings, fatals
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, k := range keys {
		if len(lines) > 0 && strings.HasPrefix(lines[0], k+"\t") {
			answers[k] = answer{strings.TrimPrefix(lines[0], k+"\t"), true}
			lines = lines[1:]
		} else {
			answers[k] = answer{}
		}
	}
	return answers, warnings, fatals
}

func sortedUnique(s []string) []string {
	u := strings.Split(strings.TrimSuffix(uniqueSorted(s), "\n"), "\n")
	if len(u) == 1 && u[0] == "" {
		return nil
	}
	sort.Strings(u)
	return u
}

// compareTable checks postern's answers and warnings for one table file
// against postmap's.
func compareTable(t *testing.T, o *oracle, typ, content string, keys []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "F")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	// texthash re-reads (and re-warns about) files younger than a second.
	old := mustTime(t, "2020-01-01T00:00:00Z")
	os.Chtimes(path, old, old)
	spec := typ + ":" + path
	tbl, err := Open(spec)
	if err != nil {
		t.Fatalf("%q: %v", content, err)
	}
	var usable []string
	for _, k := range keys {
		if !strings.Contains(k, "\n") { // not expressible as a postmap -q - line
			usable = append(usable, k)
		}
	}
	answers, w, fatals := o.queryAll(t, spec, usable)
	var theirWarnings []string
	for _, x := range w {
		// Query-time UTF-8 warnings: postern returns "not found" or an
		// error for these instead of logging.
		if !strings.HasPrefix(x, spec+": ") {
			theirWarnings = append(theirWarnings, x)
		}
	}
	for _, k := range usable {
		got, gotOK, err := tbl.Lookup(k)
		if fatals[k] != "" || err != nil {
			// Both must fail: postmap with "query error", postern with an error.
			if fatals[k] == "" || err == nil {
				t.Errorf("%s %q: key %q: postern error %v, postmap fatal %q", typ, content, k, err, fatals[k])
			}
			continue
		}
		if want := answers[k]; got != want.value || gotOK != want.found {
			t.Errorf("%s %q: key %q: postern %q/%v, postmap %q/%v", typ, content, k, got, gotOK, want.value, want.found)
		}
	}
	if len(keys) == 0 {
		return
	}
	ours := strings.Join(sortedUnique(Warnings(tbl)), "\n")
	theirs := strings.Join(sortedUnique(theirWarnings), "\n")
	if ours != theirs {
		t.Errorf("%s %q: warnings\npostern: %s\npostmap: %s", typ, content, ours, theirs)
	}
}

func TestDifferentialRules(t *testing.T) {
	o := newOracle(t)
	for _, tc := range cidrCases {
		compareTable(t, o, "cidr", tc.rules+"\n", cidrKeys)
	}
	for _, tc := range posixCases {
		if _, known := re2Differences[tc.rules]; known {
			// Documented differences must still be differences.
			if sameAsPostmap(t, o, "regexp", tc.rules+"\n", tc.queries) {
				t.Errorf("%q now agrees with postmap: update re2Differences and the docs", tc.rules)
			}
			continue
		}
		keys := []string{"a", "x"}
		for k := range tc.queries {
			keys = append(keys, k)
		}
		compareTable(t, o, "regexp", tc.rules+"\n", keys)
	}
}

// sameAsPostmap reports whether postern and postmap answer all keys alike
// and warn alike.
func sameAsPostmap(t *testing.T, o *oracle, typ, content string, queries map[string]string) bool {
	t.Helper()
	path := filepath.Join(t.TempDir(), "F")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range queries {
		keys = append(keys, k)
	}
	tbl := mustOpen(t, typ+":"+path)
	answers, w, _ := o.queryAll(t, typ+":"+path, keys)
	for _, k := range keys {
		v, ok, _ := tbl.Lookup(k)
		if a := answers[k]; a.value != v || a.found != ok {
			return false
		}
	}
	return strings.Join(sortedUnique(w), "|") == strings.Join(sortedUnique(Warnings(tbl)), "|")
}

func TestDifferentialFiles(t *testing.T) {
	o := newOracle(t)
	for _, tc := range []struct{ typ, file, keys string }{
		{"texthash", "access", "access.keys"},
		{"cidr", "cidr.cidr", "cidr.keys"},
		{"regexp", "regexp.regexp", "regexp.keys"},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		keys, err := os.ReadFile(filepath.Join("testdata", tc.keys))
		if err != nil {
			t.Fatal(err)
		}
		compareTable(t, o, tc.typ, string(data), strings.Split(strings.TrimSuffix(string(keys), "\n"), "\n"))
	}
}

func TestDifferentialInline(t *testing.T) {
	o := newOracle(t)
	for _, tc := range inlineCases {
		var keys []string
		for _, q := range tc.qs {
			keys = append(keys, q.key)
		}
		answers, _, fatals := o.queryAll(t, tc.spec, keys)
		tbl := mustOpen(t, tc.spec)
		for _, k := range keys {
			got, gotOK, err := tbl.Lookup(k)
			if want := answers[k]; fatals[k] != "" || err != nil || got != want.value || gotOK != want.found {
				t.Errorf("%s %q: postern %q/%v, postmap %q/%v %s", tc.spec, k, got, gotOK, want.value, want.found, fatals[k])
			}
		}
	}
	// postmap sleeps a second before exiting on a fatal error: run the
	// error cases concurrently.
	var wg sync.WaitGroup
	for spec := range inlineErrors {
		wg.Go(func() {
			_, _, fatal := o.run(t, spec, []string{"x"})
			if _, err := Open(spec); err == nil || strings.ReplaceAll(err.Error(), "\t", "?") != fatal {
				t.Errorf("%s: postern %v, postmap %s", spec, err, fatal)
			}
		})
	}
	wg.Wait()
}

func mustOpen(t *testing.T, spec string) Table {
	t.Helper()
	tbl, err := Open(spec)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}
