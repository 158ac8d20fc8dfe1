// Package testperm helps root-only tests that run code as other users
// (mail_owner, submitters, recipients): those users must reach the
// test's directories, which t.TempDir makes 0700.
package testperm

import (
	"os"
	"path/filepath"
	"strings"
)

// OpenDirs makes dir and every directory above it, up to but not
// including the system temp directory, 0755. The temp directory itself
// keeps its mode (1777 on /tmp): changing it once left the CI machine
// with a /tmp that apt could no longer use.
func OpenDirs(dir string) {
	tmp := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); d != tmp && strings.HasPrefix(d, tmp+string(filepath.Separator)); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
}
