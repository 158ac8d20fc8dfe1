package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFileReplacesAndKeepsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "main.cf")
	if err := os.WriteFile(p, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(got) != "new\n" || st.Mode().Perm() != 0o640 {
		t.Errorf("content %q mode %o", got, st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

// A failed directory fsync is reported: the caller must not claim the
// change is durable.
func TestWriteFileReportsDirectorySyncFailure(t *testing.T) {
	old := syncDir
	defer func() { syncDir = old }()
	syncDir = func(string) error { return errors.New("injected") }
	p := filepath.Join(t.TempDir(), "f")
	if err := WriteFile(p, []byte("x"), 0o644); err == nil {
		t.Fatal("no error after a failed directory fsync")
	}
}

// A write into a missing directory fails and leaves nothing behind.
func TestWriteFileMissingDirectory(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "f"), []byte("x"), 0o644); err == nil {
		t.Fatal("no error")
	}
}

// WriteFileOwned gives the replacement the owner and group asked for
// (root only: others cannot give files away).
func TestWriteFileOwned(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot chown")
	}
	p := filepath.Join(t.TempDir(), "users")
	os.WriteFile(p, []byte("old\n"), 0o640)
	if err := WriteFileOwned(p, []byte("new\n"), 0o600, 0, 12345); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if gid := st.Sys().(*syscall.Stat_t).Gid; gid != 12345 || st.Mode().Perm() != 0o640 {
		t.Errorf("gid %d mode %o, want 12345 and the old 640", gid, st.Mode().Perm())
	}
}

// CreateOwned writes a new file and never replaces an existing one.
func TestCreateOwnedNeverReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := CreateOwned(path, []byte("one"), 0o600, -1, -1); err != nil {
		t.Fatal(err)
	}
	if err := CreateOwned(path, []byte("two"), 0o600, -1, -1); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateOwned: %v, want fs.ErrExist", err)
	}
	got, _ := os.ReadFile(path)
	st, _ := os.Stat(path)
	if string(got) != "one" || st.Mode().Perm() != 0o600 {
		t.Errorf("file %q mode %v, want the first content, 0600", got, st.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".key.tmp*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// WriteFileMode replaces a symbolic link planted at the name instead of
// writing through it, and gives its own mode whatever was there.
func TestWriteFileModeReplacesLink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep\n"), 0o666)
	os.Chmod(victim, 0o666)
	path := filepath.Join(dir, "postern.pid")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileMode(path, []byte("42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("written through the link: victim now %q", b)
	}
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o644 {
		t.Errorf("%s: %v %v, want a regular file 0644", path, st, err)
	}
}
