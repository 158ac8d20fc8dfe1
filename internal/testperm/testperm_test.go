package testperm

import (
	"os"
	"path/filepath"
	"testing"
)

// Every directory from dir up to the temp directory opens; the temp
// directory and what lies outside it keep their modes.
func TestOpenDirs(t *testing.T) {
	tmpInfo, err := os.Stat(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir() // 0700, and its parent too
	deep := filepath.Join(base, "a", "b")
	if err := os.MkdirAll(deep, 0o700); err != nil {
		t.Fatal(err)
	}
	OpenDirs(deep)
	for _, d := range []string{deep, filepath.Dir(deep), base, filepath.Dir(base)} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v, want 0755", d, st.Mode(), err)
		}
	}
	if st, _ := os.Stat(os.TempDir()); st.Mode() != tmpInfo.Mode() {
		t.Errorf("the temp directory changed: %v, was %v", st.Mode(), tmpInfo.Mode())
	}
	OpenDirs("/etc") // outside the temp directory: untouched
}
