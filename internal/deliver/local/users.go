package local

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/maps"
)

// User is a local user, as from getpwnam().
type User struct {
	Name     string
	UID, GID int
	Home     string
	Shell    string // "" when unknown
}

// ErrUnknownUser is returned by Users for a user that does not exist.
var ErrUnknownUser = errors.New("unknown user")

// Users is the user database: mailboxes belong to users found by name,
// alias tables and :include: files to users found by uid.
type Users interface {
	Lookup(name string) (*User, error)
	LookupID(uid int) (*User, error)
}

// SystemUsers is the system's user database (os/user).
type SystemUsers struct{}

// Lookup finds a user by name.
func (SystemUsers) Lookup(name string) (*User, error) {
	u, err := user.Lookup(name)
	if errors.As(err, new(user.UnknownUserError)) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownUser, name)
	}
	return fromOS(u, err)
}

// LookupID finds a user by uid.
func (SystemUsers) LookupID(uid int) (*User, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if errors.As(err, new(user.UnknownUserIdError)) {
		return nil, fmt.Errorf("%w: uid %d", ErrUnknownUser, uid)
	}
	return fromOS(u, err)
}

func fromOS(u *user.User, err error) (*User, error) {
	if err != nil {
		return nil, err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %s: non-numeric uid %q or gid %q", u.Username, u.Uid, u.Gid)
	}
	return &User{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}, nil
}

// tableOwner is the uid owning an alias table's file, whose rights
// |command and /file destinations of the table get (Postfix's
// dict_owner()); 0 (root) for tables that are not files.
func tableOwner(t maps.Table) int {
	typ, name, _ := strings.Cut(t.Name(), ":")
	var path string
	switch typ {
	case "cdb", "hash", "btree", "lmdb":
		path = name + ".cdb"
	case "texthash", "cidr", "regexp", "pcre":
		path = name
	default:
		return 0
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fileUID(st)
}

// fileUID is the owner of a file; 0 when unknown.
func fileUID(st os.FileInfo) int {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid)
	}
	return 0
}
