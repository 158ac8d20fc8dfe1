package fdperm

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ChmodSocket changes the socket just bound, and refuses a symbolic link
// or another file put in its place (its target keeps its mode).
func TestChmodSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := ChmodSocket(sock, 0o600); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Lstat(sock); st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", st.Mode())
	}
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, nil, 0o644)
	os.Chmod(victim, 0o644)
	for name, plant := range map[string]func(string) error{
		"symlink": func(p string) error { return os.Symlink(victim, p) },
		"file":    func(p string) error { return os.WriteFile(p, nil, 0o644) },
	} {
		p := filepath.Join(dir, name)
		if err := plant(p); err != nil {
			t.Fatal(err)
		}
		if err := ChmodSocket(p, 0o600); err == nil {
			t.Errorf("%s: changed, want an error", name)
		}
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
			t.Errorf("%s: target mode %v, want 0644 kept", name, st.Mode())
		}
	}
}

// Set refuses what a change could reach outside: hard links, symbolic
// links, devices; it changes a directory and a single-link file.
func TestChangeable(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	os.WriteFile(filepath.Join(dir, "one"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "two"), nil, 0o644)
	os.Link(filepath.Join(dir, "two"), filepath.Join(dir, "two.link"))
	os.Symlink("one", filepath.Join(dir, "sym"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for _, tc := range []struct{ name, err string }{
		{"one", ""}, {"sub", ""}, {"two", "2 hard links"}, {"sym", "not a regular file"},
	} {
		st, err := LstatAt(d, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if err := Changeable(&st); err != nil {
			got = err.Error()
		}
		if (tc.err == "") != (got == "") || !strings.Contains(got, tc.err) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.err)
		}
	}
	if _, err := OpenFileAt(d, "sym"); err == nil {
		t.Error("OpenFileAt followed a symbolic link")
	}
	if _, err := OpenDirAt(d, "sym"); err == nil {
		t.Error("OpenDirAt followed a symbolic link")
	}
	f, err := OpenFileAt(d, "one")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := Stat(f)
	if changed, err := Set(f, &st, -1, -1, 0o600); err != nil || !changed {
		t.Errorf("Set: %v %v", changed, err)
	}
	if st, _ := os.Stat(filepath.Join(dir, "one")); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
}
