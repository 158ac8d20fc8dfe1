package mailstore

import (
	"os"
	"path/filepath"
	"testing"
)

// The fast way into a Maildir takes only real directories, all there:
// anything else (a symbolic link on the way, a missing tmp/ or new/, a
// path leaving the root) goes the checking way, which creates what is
// missing or refuses.
func TestOpenMaildirFast(t *testing.T) {
	base := t.TempDir()
	mk := func(dirs ...string) {
		for _, d := range dirs {
			if err := os.MkdirAll(filepath.Join(base, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("u/Maildir/tmp", "u/Maildir/new", "u/Maildir/cur", "v/Maildir/new", "other/Maildir/tmp", "other/Maildir/new", "w/file")
	os.Symlink(filepath.Join(base, "other"), filepath.Join(base, "link"))
	os.Symlink(filepath.Join(base, "other/Maildir/new"), filepath.Join(base, "u/x"))
	mk("s/Maildir/tmp")
	os.Symlink(filepath.Join(base, "other/Maildir/new"), filepath.Join(base, "s/Maildir/new"))
	os.WriteFile(filepath.Join(base, "f"), nil, 0o600)
	r, err := os.OpenRoot(base)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct {
		dir string
		ok  bool
	}{
		{"u/Maildir", true},
		{"other/Maildir", true},
		{"v/Maildir", false},    // no tmp/
		{"link/Maildir", false}, // a symbolic link on the way
		{"s/Maildir", false},    // new/ is a symbolic link
		{"f", false},            // not a directory
		{"../u/Maildir", false},
		{"u//Maildir", false},
		{"nobody/Maildir", false},
	} {
		tmp, nw, ok := openMaildirFast(r, tc.dir)
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.dir, ok, tc.ok)
		}
		if ok {
			if want := filepath.Join(base, tc.dir, "new"); nw.Name() != want {
				t.Errorf("%s: new/ named %q, want %q", tc.dir, nw.Name(), want)
			}
			for _, f := range []*os.File{tmp, nw} {
				st, err := f.Stat()
				if err != nil || !st.IsDir() {
					t.Errorf("%s: %s not an open directory: %v", tc.dir, f.Name(), err)
				}
				f.Close()
			}
		}
	}
}
