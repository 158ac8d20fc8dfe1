package spoolperm

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func owner(t *testing.T, path string) (int, int, fs.FileMode) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return int(sys.Uid), int(sys.Gid), st.Mode()
}

// Fix gives a queue restored as root, with wrong modes, back to
// mail_owner; maildrop files keep their submitter; a second run changes
// nothing.
func TestFix(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	root := t.TempDir()
	q, data := filepath.Join(root, "queue"), filepath.Join(root, "data")
	for _, d := range []string{"active", "deferred", "maildrop"} {
		os.MkdirAll(filepath.Join(q, d), 0o777)
		os.Chmod(filepath.Join(q, d), 0o777)
	}
	os.WriteFile(filepath.Join(q, "active", "4jYxQ92tW7z1DY"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(q, "maildrop", "m.1"), []byte("x"), 0o640)
	os.Chown(filepath.Join(q, "maildrop", "m.1"), 4242, 4242)
	o := Owner{UID: 54321, GID: 54322}
	res, err := Fix(q, data, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) == 0 {
		t.Fatal("nothing reported changed")
	}
	for path, want := range map[string]fs.FileMode{
		q:                            0,
		data:                         0,
		filepath.Join(q, "active"):   fs.ModeDir | 0o700,
		filepath.Join(q, "deferred"): fs.ModeDir | 0o700,
		filepath.Join(q, "incoming"): fs.ModeDir | 0o700,
		filepath.Join(q, "hold"):     fs.ModeDir | 0o700,
		filepath.Join(q, "active", "4jYxQ92tW7z1DY"): 0o600,
		filepath.Join(q, "maildrop"):                 fs.ModeDir | fs.ModeSetgid | fs.ModeSticky | 0o733,
	} {
		uid, gid, mode := owner(t, path)
		if uid != o.UID || gid != o.GID || (want != 0 && mode != want) {
			t.Errorf("%s: %d:%d %v, want %d:%d %v", path, uid, gid, mode, o.UID, o.GID, want)
		}
	}
	if uid, _, _ := owner(t, filepath.Join(q, "maildrop", "m.1")); uid != 4242 {
		t.Errorf("maildrop file given to uid %d: its submitter (4242) is lost", uid)
	}
	if _, _, mode := owner(t, q); mode.Perm()&0o011 != 0o011 {
		t.Errorf("queue directory %v: sendmail cannot reach the maildrop", mode)
	}
	again, err := Fix(q, data, o)
	if err != nil || len(again.Changed) != 0 {
		t.Errorf("second run changed %v, %v", again.Changed, err)
	}
}
