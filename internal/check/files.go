package check

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/diraccess"
	"github.com/postern-mta/postern/internal/queue"
)

// fileTableTypes are lookup table types whose name is a file.
var fileTableTypes = map[string]bool{"hash": true, "btree": true, "lmdb": true, "cdb": true,
	"dbm": true, "texthash": true, "cidr": true, "regexp": true, "pcre": true}

// indexedTableTypes are read from the "name.cdb" file that postern map
// builds from the source file "name".
var indexedTableTypes = map[string]bool{"hash": true, "btree": true, "lmdb": true, "cdb": true}

// files checks the lookup tables and files that parameters point to,
// set in main.cf or by default (alias_maps = hash:/etc/aliases), each
// table once. A default naming a source file that does not exist is
// passed over.
func (c *checker) files() {
	aliasDB, _ := c.cfg.List("alias_database")
	seen := map[string]bool{}
	for _, name := range config.Names() {
		p, _ := config.Lookup(name)
		// alias_database only says what newaliases builds; a table in it
		// is looked up, and judged, only where alias_maps names it.
		// A parameter postern knows only for its default opens nothing.
		if (p.Kind != config.MapList && p.Kind != config.Restrictions) || name == "alias_database" || config.OnlyKnown(name) {
			continue
		}
		_, set := c.cfg.SetInMain(name)
		list, err := c.cfg.List(name)
		if err != nil {
			continue
		}
		for _, m := range list {
			typ, path, ok := strings.Cut(m, ":")
			if !ok || !fileTableTypes[typ] || !strings.HasPrefix(path, "/") || seen[m] {
				continue
			}
			src, err := os.Stat(path)
			if err != nil && !set {
				continue
			}
			seen[m] = true
			if err != nil {
				c.warnf(name, "lookup table %s: source file %s: %v", m, path, errors.Unwrap(err))
				continue
			}
			if !indexedTableTypes[typ] {
				continue
			}
			build := fmt.Sprintf("run \"postern map %s\"", m)
			switch {
			case slices.Contains(aliasDB, m):
				build = "run \"postern newaliases\""
			case name == "alias_maps":
				build = fmt.Sprintf("add %s to alias_database and run \"postern newaliases\"", m)
			}
			switch db, err := os.Stat(path + ".cdb"); {
			case err != nil:
				c.warnf(name, "lookup table %s is not built: %s.cdb: %v: %s; until then lookups fail and mail waits", m, path, errors.Unwrap(err), build)
			case db.ModTime().Before(src.ModTime()):
				c.warnf(name, "lookup table %s: %s.cdb is older than %s: %s", m, path, path, build)
			}
		}
	}
}

// queueDirectory checks that the queue and data directories can be used:
// by mail_owner when postern check runs as root (postern start creates
// them as root, then drops to mail_owner), else by this user.
func (c *checker) queueDirectory() {
	owner, asOwner := c.mailOwner()
	for _, name := range []string{"queue_directory", "data_directory"} {
		dir := c.value(name)
		if dir == "" || !strings.HasPrefix(dir, "/") {
			c.errorf(name, "%q must be an absolute path", dir)
			continue
		}
		if asOwner {
			if err := diraccess.Reach(dir, owner); err != nil {
				c.errorf(name, "mail_owner %s cannot use %s: %v", owner.Name, dir, err)
				continue
			}
		} else if diraccess.ReadOnly(dir) {
			c.errorf(name, "%s is on a read-only file system: remount it read-write, or choose a directory on a writable file system", dir)
			continue
		}
		st, err := os.Stat(dir)
		switch {
		case errors.Is(err, os.ErrNotExist):
			c.warnf(name, "%s does not exist yet; postern start creates it", dir)
		case err != nil:
			c.errorf(name, "%s: %v", dir, errors.Unwrap(err))
		case !st.IsDir():
			c.errorf(name, "%s is not a directory", dir)
		case !asOwner && syscall.Access(dir, 2|1) != nil:
			c.errorf(name, "%s is not writable by this user (%s)", dir, fmt.Sprint(os.Getuid()))
		case st.Mode().Perm()&0o002 != 0:
			c.errorf(name, "%s is writable by everyone (mode %o): anyone could forge or read queued mail", dir, st.Mode().Perm())
		}
	}
	c.queueSpace()
}

// mailOwner returns mail_owner when access is to be judged for it: this
// check runs as root and mail_owner is another, existing user.
func (c *checker) mailOwner() (diraccess.User, bool) {
	if os.Geteuid() != 0 {
		return diraccess.User{}, false
	}
	u, err := diraccess.Lookup(c.value("mail_owner"))
	if err != nil || u.UID == 0 {
		return u, false // an unknown mail_owner is reported by validate
	}
	return u, true
}

// queueSpace warns when the queue's file system cannot keep the reserve
// that the queue requires before taking a message (queue.SpaceNeeded):
// every MAIL is then refused with 452.
func (c *checker) queueSpace() {
	minfree, err1 := c.cfg.Int("queue_minfree")
	limit, err2 := c.cfg.Int("message_size_limit")
	if err1 != nil || err2 != nil {
		return // reported by validate
	}
	dir := c.value("queue_directory")
	need := queue.SpaceNeeded(minfree, limit)
	st, ok := diraccess.Statfs(dir)
	if !ok {
		return
	}
	bsize := int64(st.Frsize)
	if bsize == 0 {
		bsize = int64(st.Bsize)
	}
	total, free := int64(st.Blocks)*bsize, int64(st.Bavail)*bsize
	rule := fmt.Sprintf("the larger of queue_minfree (%d) and 1.5 × message_size_limit (%d) = %d bytes", minfree, limit, need)
	switch {
	case total < need:
		c.warnf("queue_directory", "the file system of %s holds %d bytes in all, less than the free space the queue keeps before it takes a message (%s): every MAIL would be refused (452 4.3.1 Insufficient system storage); lower message_size_limit or queue_minfree, or move the queue to a larger file system", dir, total, rule)
	case free < need:
		c.warnf("queue_directory", "the file system of %s has %d bytes free, less than the free space the queue keeps before it takes a message (%s): MAIL is refused (452 4.3.1 Insufficient system storage) until space is freed", dir, free, rule)
	}
}
