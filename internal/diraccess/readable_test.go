package diraccess

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A key under a root-only directory, reached through a symlink as
// certbot's live/ links are, is unreadable for mail_owner even when the
// link's own directory is open.
func TestReadable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: judges access for another user (nobody) on root-owned files")
	}
	nobody, err := Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	base := t.TempDir()
	os.Chmod(base, 0o755)
	os.Chmod(filepath.Dir(base), 0o755)
	archive := filepath.Join(base, "archive")
	os.Mkdir(archive, 0o700)
	key := filepath.Join(archive, "privkey1.pem")
	os.WriteFile(key, []byte("k"), 0o644)
	live := filepath.Join(base, "live")
	os.Mkdir(live, 0o755)
	link := filepath.Join(live, "privkey.pem")
	os.Symlink(key, link)
	if err := Readable(link, nobody); err == nil || !strings.Contains(err.Error(), archive+" (mode 700, owner root) cannot be searched by nobody") {
		t.Errorf("root-only archive: %v", err)
	}
	os.Chmod(archive, 0o755)
	if err := Readable(link, nobody); err != nil {
		t.Errorf("open archive: %v", err)
	}
	os.Chmod(key, 0o600)
	if err := Readable(link, nobody); err == nil || !strings.Contains(err.Error(), "nobody cannot read it (mode 600, owner root)") {
		t.Errorf("mode 600 key: %v", err)
	}
	os.Chown(key, 0, nobody.GID)
	os.Chmod(key, 0o640)
	if err := Readable(link, nobody); err != nil {
		t.Errorf("group-readable by nobody's group: %v", err)
	}
}
