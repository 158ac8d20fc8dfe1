package mailstore

import (
	"os"
	"syscall"
	"testing"
)

// Fake ids that exist nowhere else, so that chown results are
// unambiguous.
const (
	aliceUID = 54321
	aliceGID = 54320
)

func isRoot() bool { return os.Geteuid() == 0 }

// sharedDir is a temporary directory every uid may enter.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "postern-mailstore-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	return dir
}

func ownerOf(t *testing.T, path string) (uid, gid int, mode os.FileMode) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return int(sys.Uid), int(sys.Gid), st.Mode()
}
