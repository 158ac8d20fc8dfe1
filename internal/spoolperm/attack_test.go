package spoolperm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/fdperm/fdpermtest"
)

// victim makes a root-owned directory outside the queue holding a
// root-owned file named like a queue file; check says whether either
// changed.
func victim(t *testing.T, root, name string) (check func()) {
	t.Helper()
	dir := filepath.Join(root, "victim")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte("root's\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(file, 0o640)
	return func() {
		t.Helper()
		for path, want := range map[string]uint32{dir: 0o40755, file: 0o100640} {
			if uid, gid, mode := fdpermtest.Owner(t, path); uid != 0 || gid != 0 || mode != want {
				t.Fatalf("%s outside the queue changed: %d:%d %o, was 0:0 %o", path, uid, gid, mode, want)
			}
		}
	}
}

// A queue directory swapped for a symbolic link to a directory outside
// while set-permissions walks the queue (mail_owner can rename anything
// in the queue) must not get root to give away or chmod that directory
// or the files in it. Without descriptor-relative, no-follow walking the
// swap wins within a few hundred runs (review 17b: 0.25 s).
func TestFixSymlinkSwapRace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	root := t.TempDir()
	q, data := filepath.Join(root, "queue"), filepath.Join(root, "data")
	x := filepath.Join(q, "active", "x")
	if err := os.MkdirAll(x, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(x, "faa"), []byte("queue file\n"), 0o600)
	check := victim(t, root, "faa")
	o := Owner{UID: 54321, GID: 54322}
	stop := fdpermtest.Swap(t, x, filepath.Join(root, "victim"))
	for range 3000 {
		Fix(q, data, o)
	}
	stop()
	check()
}

// A file hard-linked into the queue from outside (possible where
// fs.protected_hardlinks is 0, or for files mail_owner can read and
// write) is left alone and reported.
func TestFixHardLink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	root := t.TempDir()
	q, data := filepath.Join(root, "queue"), filepath.Join(root, "data")
	os.MkdirAll(filepath.Join(q, "deferred"), 0o700)
	os.MkdirAll(data, 0o755)
	check := victim(t, root, "shadow")
	if err := os.Link(filepath.Join(root, "victim", "shadow"), filepath.Join(q, "deferred", "4jYxQ92tW7z1DY")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "victim", "shadow"), filepath.Join(data, "cache")); err != nil {
		t.Fatal(err)
	}
	res, err := Fix(q, data, Owner{UID: 54321, GID: 54322})
	if err != nil {
		t.Fatal(err)
	}
	check()
	if s := strings.Join(res.Skipped, "\n"); !strings.Contains(s, "4jYxQ92tW7z1DY: has 3 hard links") || !strings.Contains(s, "cache: has 3 hard links") {
		t.Errorf("hard links not reported:\n%s", s)
	}
}

// Symbolic links planted in the queue and data directories (a queue
// name, a file inside one, the maildrop) are neither followed nor
// changed, and are reported.
func TestFixPlantedSymlinks(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	root := t.TempDir()
	q, data := filepath.Join(root, "queue"), filepath.Join(root, "data")
	os.MkdirAll(filepath.Join(q, "active"), 0o700)
	os.MkdirAll(data, 0o755)
	check := victim(t, root, "shadow")
	v := filepath.Join(root, "victim")
	for _, l := range [][2]string{
		{v, filepath.Join(q, "hold")},
		{v, filepath.Join(q, "maildrop")},
		{filepath.Join(v, "shadow"), filepath.Join(q, "active", "4jYxQ92tW7z1DY")},
		{v, filepath.Join(data, "sub")},
	} {
		if err := os.Symlink(l[0], l[1]); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Fix(q, data, Owner{UID: 54321, GID: 54322})
	if err == nil || !strings.Contains(err.Error(), "maildrop") {
		t.Errorf("maildrop symlink: got %v, want an error", err)
	}
	check()
	if len(res.Skipped) < 3 {
		t.Errorf("skipped %q, want the planted links", res.Skipped)
	}
}
