package diraccess

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// Readable checks that u can read the file path: search permission on
// every directory above it, both as named and after symbolic links
// (certbot's live/ links into archive/), and read permission on the
// file itself.
func Readable(path string, u User) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	paths := []string{filepath.Clean(path)}
	if real, err := filepath.EvalSymlinks(path); err == nil && real != paths[0] {
		paths = append(paths, real)
	}
	for _, p := range paths {
		for d := filepath.Dir(p); ; d = filepath.Dir(d) {
			if dst, err := os.Stat(d); err == nil && !u.may(dst, 1) {
				return fmt.Errorf("%s cannot read it: %s (mode %o, owner %s) cannot be searched by %s", u.Name, d, dst.Mode().Perm(), owner(dst), u.Name)
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	if !u.may(st, 4) {
		return fmt.Errorf("%s cannot read it (mode %o, owner %s)", u.Name, st.Mode().Perm(), owner(st))
	}
	return nil
}

// InGroup reports whether the file's group is one of u's.
func InGroup(st os.FileInfo, u User) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && (int(sys.Gid) == u.GID || slices.Contains(u.Groups, int(sys.Gid)))
}

func owner(st os.FileInfo) string {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return ownerName(int(sys.Uid))
	}
	return "?"
}
