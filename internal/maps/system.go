package maps

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// The system tables of Postfix's default local_recipient_maps
// ("proxy:unix:passwd.byname $alias_maps") and alias_maps
// ("hash:/etc/aliases, nis:mail.aliases"):
//
//   - proxy:TYPE:NAME opens TYPE:NAME directly: proxymap(8) only shares
//     tables between Postfix's processes and lets them outlive chroot,
//     and postern is one process;
//   - unix:passwd.byname and unix:group.byname find a name in the files
//     /etc/passwd and /etc/group, as getpwnam(3) does without NSS
//     modules, and return the entry's line as Postfix does; they are read
//     at each lookup, so a new user is known at once;
//   - nis:NAME finds nothing: Postfix does the same, with a warning, on
//     a host with no NIS domain, which is every host postern runs on.
var (
	passwdFile = "/etc/passwd"
	groupFile  = "/etc/group"
)

type unixTable struct {
	base
	path string
}

func openUnix(spec, name string) (Table, error) {
	switch name {
	case "passwd.byname":
		return &unixTable{base: base{spec: spec}, path: passwdFile}, nil
	case "group.byname":
		return &unixTable{base: base{spec: spec}, path: groupFile}, nil
	}
	return nil, fmt.Errorf("unknown table: %s", spec)
}

// Lookup returns the entry for a user or group name. Names are matched
// exactly, as getpwnam does; a key with "@" is never a user name.
func (t *unixTable) Lookup(key string) (string, bool, error) {
	if key == "" || strings.ContainsAny(key, "@:\n") {
		return "", false, nil
	}
	f, err := os.Open(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("table %s: %w", t.spec, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, _, ok := strings.Cut(line, ":"); ok && name == key {
			return line, true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", false, fmt.Errorf("table %s: %w", t.spec, err)
	}
	return "", false, nil
}

type nisTable struct{ base }

func openNIS(spec string) Table {
	t := &nisTable{base: base{spec: spec}}
	t.warnf("dict_nis_init: NIS domain name not set - NIS lookups disabled")
	return t
}

func (t *nisTable) Lookup(string) (string, bool, error) { return "", false, nil }
