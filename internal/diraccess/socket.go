package diraccess

import (
	"fmt"
	"os"
	"path/filepath"
)

// Connect checks that u may connect to the unix socket at path: search
// permission on every directory above it and write permission on the
// socket itself (what connect(2) requires).
func Connect(path string, u User) error {
	path = filepath.Clean(path)
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		if !u.may(st, 1) {
			return fmt.Errorf("%s (mode %o, owner %s) cannot be searched by %s", d, st.Mode().Perm(), owner(st), u.Name)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !u.may(st, 2) {
		return fmt.Errorf("%s (mode %o, owner %s) is not writable by %s", path, st.Mode().Perm(), owner(st), u.Name)
	}
	return nil
}
