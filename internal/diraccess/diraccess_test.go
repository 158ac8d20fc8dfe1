package diraccess

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A root-owned mode-700 parent keeps mail_owner out of the queue even
// though root can create it there: Reach says so before start fails.
func TestReach(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: judges access for another user (nobody) on root-owned directories")
	}
	nobody, err := Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	root, _ := Lookup("root")
	base := t.TempDir()
	os.Chmod(base, 0o755)
	os.Chmod(filepath.Dir(base), 0o755)
	parent := filepath.Join(base, "spool")
	os.Mkdir(parent, 0o700)
	queue := filepath.Join(parent, "postern")
	err = Reach(queue, nobody)
	if err == nil || !strings.Contains(err.Error(), parent+" (mode 700, owner root) cannot be searched by nobody") || !strings.Contains(err.Error(), "chmod o+x "+parent) {
		t.Errorf("mode 700 parent: %v", err)
	}
	if err := Reach(queue, root); err != nil {
		t.Errorf("root: %v", err)
	}
	os.Chmod(parent, 0o711)
	if err := Reach(queue, nobody); err != nil {
		t.Errorf("mode 711 parent: %v", err)
	}
	if err := Reach(filepath.Join(parent, "a", "b"), nobody); err != nil {
		t.Errorf("missing levels are created by start: %v", err)
	}
}

// A read-only file system is named as such.
func TestReadOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts a read-only tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_RDONLY, "size=64k"); err != nil {
		t.Skipf("cannot mount tmpfs here: %v", err)
	}
	defer syscall.Unmount(dir, 0)
	root, _ := Lookup("root")
	err := Reach(filepath.Join(dir, "queue"), root)
	if !errors.Is(err, ErrReadOnly) {
		t.Errorf("Reach on a read-only file system: %v", err)
	}
	if ReadOnly(t.TempDir()) {
		t.Error("a temporary directory is read-only")
	}
	mkErr := os.Mkdir(filepath.Join(dir, "queue"), 0o755)
	if got := Explain("queue_directory", dir+"/queue", mkErr).Error(); !strings.Contains(got, "the file system is mounted read-only: remount it read-write") {
		t.Errorf("Explain: %s", got)
	}
}

// Every cause gets its own advice.
func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{syscall.EROFS, "mounted read-only"},
		{syscall.EACCES, "must be searchable by mail_owner (chmod o+x)"},
		{syscall.EPERM, "run postern start as root"},
		{syscall.ENOSPC, "free space"},
		{syscall.ENOTDIR, "a path component is a file"},
		{errors.New("other"), "queue_directory /q: mkdir /q: other"},
	} {
		got := Explain("queue_directory", "/q", &os.PathError{Op: "mkdir", Path: "/q", Err: tc.err}).Error()
		if !strings.Contains(got, tc.want) {
			t.Errorf("%v: %s", tc.err, got)
		}
	}
}
