// Package diraccess says whether a user can reach a directory, judged
// from permission bits, owners and groups rather than by trying, so that
// root can answer for mail_owner before it drops privileges (postern
// check, postern start); and it words directory errors with their cause
// and fix.
package diraccess

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// User is whom access is judged for.
type User struct {
	Name     string
	UID, GID int
	Groups   []int // supplementary groups
}

// Lookup finds a user and its groups.
func Lookup(name string) (User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return User{}, err
	}
	out := User{Name: name}
	out.UID, _ = strconv.Atoi(u.Uid)
	out.GID, _ = strconv.Atoi(u.Gid)
	ids, _ := u.GroupIds()
	for _, g := range ids {
		if n, err := strconv.Atoi(g); err == nil {
			out.Groups = append(out.Groups, n)
		}
	}
	return out, nil
}

// may reports whether u has the permission bits want (4 read, 2 write,
// 1 search) on st.
func (u User) may(st fs.FileInfo, want fs.FileMode) bool {
	if u.UID == 0 {
		return true
	}
	mode := st.Mode().Perm()
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	switch {
	case int(sys.Uid) == u.UID:
		mode >>= 6
	case int(sys.Gid) == u.GID || slices.Contains(u.Groups, int(sys.Gid)):
		mode >>= 3
	}
	return mode&want == want
}

// ErrReadOnly is the cause when a directory lies on a read-only file
// system.
var ErrReadOnly = errors.New("read-only file system")

// Reach checks that u can search every existing directory above dir (dir
// itself is made u's by postern start), and that the file system that
// holds dir, or would hold it, is writable.
func Reach(dir string, u User) error {
	dir = filepath.Clean(dir)
	var parents []string
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		parents = append(parents, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	slices.Reverse(parents)
	for _, p := range parents {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			break // postern start creates the rest (mode 755)
		}
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", p)
		}
		if !u.may(st, 1) {
			sys, _ := st.Sys().(*syscall.Stat_t)
			owner := "?"
			if sys != nil {
				owner = ownerName(int(sys.Uid))
			}
			return fmt.Errorf("%s (mode %o, owner %s) cannot be searched by %s: run \"chmod o+x %s\" (or give it to %s's group), or choose a directory %s can reach", p, st.Mode().Perm(), owner, u.Name, p, u.Name, u.Name)
		}
	}
	if ReadOnly(dir) {
		return fmt.Errorf("%s is on a %w: remount it read-write, or choose a directory on a writable file system", dir, ErrReadOnly)
	}
	return nil
}

// ReadOnly reports whether the file system holding path (or, when it
// does not exist, its nearest existing parent) is mounted read-only.
func ReadOnly(path string) bool {
	st, ok := Statfs(filepath.Clean(path))
	return ok && st.Flags&stRdonly != 0
}

// Statfs is statfs(2) of the file system holding path or, when it does
// not exist, its nearest existing parent; ok is false when none answers.
func Statfs(path string) (st syscall.Statfs_t, ok bool) {
	for p := path; ; p = filepath.Dir(p) {
		if syscall.Statfs(p, &st) == nil {
			return st, true
		}
		if p == filepath.Dir(p) {
			return st, false
		}
	}
}

// stRdonly is ST_RDONLY of statfs(2)'s f_flags.
const stRdonly = 1

func ownerName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// Explain words an error met while creating or opening dir, the value
// of parameter param: the cause in plain words and what to do.
func Explain(param, dir string, err error) error {
	switch {
	case errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%s %s: %w: the file system is mounted read-only: remount it read-write, or set %s to a directory on a writable file system", param, dir, err, param)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("%s %s: %w: every directory above it must be searchable by mail_owner (chmod o+x), and postern start must run as root or as its owner; or set %s elsewhere", param, dir, err, param)
	case errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%s %s: %w: run postern start as root, which gives it to mail_owner, or as its owner; a network file system may refuse root (root_squash): set %s to a local directory", param, dir, err, param)
	case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%s %s: %w: free space on its file system", param, dir, err)
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%s %s: %w: a path component is a file; set %s to a directory", param, dir, err, param)
	}
	return fmt.Errorf("%s %s: %w", param, dir, err)
}
