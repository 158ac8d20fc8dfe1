package master

import (
	"os"
	"path/filepath"
	"testing"
)

// The daemon binds its control socket and writes its pid file as root in
// data_directory, which mail_owner can write: a symbolic link planted as
// the pid file must be replaced, not written through (a dangling one
// would have created any root file, /etc/ld.so.preload say).
func TestListenControlPlantedLinks(t *testing.T) {
	data := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("root's\n"), 0o640)
	dangling := filepath.Join(t.TempDir(), "ld.so.preload")
	for _, l := range [][2]string{{victim, pidFile}, {dangling, controlSocket}} {
		if err := os.Symlink(l[0], filepath.Join(data, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := (&Daemon{}).listenControl(data)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if b, _ := os.ReadFile(victim); string(b) != "root's\n" {
		t.Errorf("pid written through a symbolic link: victim now %q", b)
	}
	if st, err := os.Lstat(filepath.Join(data, pidFile)); err != nil || !st.Mode().IsRegular() {
		t.Errorf("pid file: %v %v, want a regular file", st, err)
	}
	if st, err := os.Lstat(filepath.Join(data, controlSocket)); err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("control socket: %v %v, want a socket 0600", st, err)
	}
	if _, err := os.Lstat(dangling); err == nil {
		t.Error("a file was created through the planted link")
	}
}
