package maps

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
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

	mu      sync.Mutex
	entries map[string]string // name → line, as of stamp
	stamp   fileStamp
}

// fileStamp tells whether a file changed since it was read.
type fileStamp struct {
	mod  time.Time
	size int64
	ino  uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	st := fileStamp{mod: fi.ModTime(), size: fi.Size()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st
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
// exactly, as getpwnam does; a key with "@" is never a user name. The
// file is read again only when it changed (one stat per lookup: smtpd
// asks at every RCPT for a local domain).
func (t *unixTable) Lookup(key string) (string, bool, error) {
	if key == "" || strings.ContainsAny(key, "@:\n") {
		return "", false, nil
	}
	entries, err := t.load()
	if err != nil {
		return "", false, err
	}
	line, ok := entries[key]
	return line, ok, nil
}

func (t *unixTable) load() (map[string]string, error) {
	fi, err := os.Stat(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.spec, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.entries != nil && t.stamp == stampOf(fi) {
		return t.entries, nil
	}
	f, err := os.Open(t.path)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", t.spec, err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("table %s: %w", t.spec, err)
	}
	entries := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, _, ok := strings.Cut(line, ":"); ok {
			if _, dup := entries[name]; !dup { // the first entry wins, as getpwnam
				entries[name] = line
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("table %s: %w", t.spec, err)
	}
	t.entries, t.stamp = entries, stampOf(fi)
	return entries, nil
}

type nisTable struct{ base }

func openNIS(spec string) Table {
	t := &nisTable{base: base{spec: spec}}
	t.warnf("dict_nis_init: NIS domain name not set - NIS lookups disabled")
	return t
}

func (t *nisTable) Lookup(string) (string, bool, error) { return "", false, nil }
