package pickup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/fdperm/fdpermtest"
)

// rootDir makes a root-owned 0755 directory outside the queue and
// returns it with a check that it is unchanged.
func rootDir(t *testing.T, parent string) (string, func()) {
	t.Helper()
	dir := filepath.Join(parent, "etc")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	return dir, func() {
		t.Helper()
		if uid, gid, mode := fdpermtest.Owner(t, dir); uid != 0 || gid != 0 || mode != 0o40755 {
			t.Fatalf("%s outside the queue changed: %d:%d %o, was 0:0 40755", dir, uid, gid, mode)
		}
	}
}

// The maildrop swapped for a symbolic link while root prepares it
// (set-permissions, or root's sendmail finding the maildrop broken,
// which mail_owner can arrange) must not make the link's target mode
// 3733: on /etc that would let anyone create /etc/ld.so.preload. Without
// the descriptor-relative set-up the swap wins within a few hundred
// runs (review 17b: 0.04 s).
func TestPrepareSymlinkSwapRace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	root := t.TempDir()
	q := filepath.Join(root, "queue")
	if err := Prepare(q, 54321, 54322); err != nil {
		t.Fatal(err)
	}
	target, check := rootDir(t, root)
	stop := fdpermtest.Swap(t, filepath.Join(q, "maildrop"), target)
	for range 3000 {
		Prepare(q, 54321, 54322)
	}
	stop()
	check()
}

// A symbolic link planted as the maildrop is refused, its target left
// as it was.
func TestPreparePlantedSymlink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	root := t.TempDir()
	q := filepath.Join(root, "queue")
	os.MkdirAll(q, 0o755)
	target, check := rootDir(t, root)
	for _, name := range []string{"maildrop", "public"} {
		link := filepath.Join(q, name)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		err := Prepare(q, 54321, 54322)
		if err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("%s a symlink: got %v, want not a directory", name, err)
		}
		check()
		os.Remove(link)
		os.Mkdir(link, 0o700)
	}
}
