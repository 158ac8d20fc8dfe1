package check

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/postern-mta/postern/internal/config"
)

// fileTableTypes are lookup table types whose name is a file.
var fileTableTypes = map[string]bool{"hash": true, "btree": true, "lmdb": true, "cdb": true,
	"dbm": true, "texthash": true, "cidr": true, "regexp": true, "pcre": true}

// indexedTableTypes are read from the "name.cdb" file that postern map
// builds from the source file "name".
var indexedTableTypes = map[string]bool{"hash": true, "btree": true, "lmdb": true, "cdb": true}

// files checks the lookup tables and files that parameters point to.
func (c *checker) files() {
	for _, name := range config.Names() {
		p, _ := config.Lookup(name)
		if p.Kind != config.MapList && p.Kind != config.Restrictions {
			continue
		}
		if _, set := c.cfg.SetInMain(name); !set {
			continue
		}
		list, err := c.cfg.List(name)
		if err != nil {
			continue
		}
		for _, m := range list {
			typ, path, ok := strings.Cut(m, ":")
			if !ok || !fileTableTypes[typ] || !strings.HasPrefix(path, "/") {
				continue
			}
			src, err := os.Stat(path)
			if err != nil {
				c.warnf(name, "lookup table %s: source file %s: %v", m, path, errors.Unwrap(err))
				continue
			}
			if !indexedTableTypes[typ] {
				continue
			}
			build := "postern map " + m
			if name == "alias_maps" || name == "alias_database" {
				build = "newaliases"
			}
			switch db, err := os.Stat(path + ".cdb"); {
			case err != nil:
				c.warnf(name, "lookup table %s: %s.cdb: %v: run \"%s\"; until then lookups fail and mail waits", m, path, errors.Unwrap(err), build)
			case db.ModTime().Before(src.ModTime()):
				c.warnf(name, "lookup table %s: %s.cdb is older than %s: run \"%s\"", m, path, path, build)
			}
		}
	}
}

// queueDirectory checks that the queue and data directories can be used.
func (c *checker) queueDirectory() {
	for _, name := range []string{"queue_directory", "data_directory"} {
		dir := c.value(name)
		if dir == "" || !strings.HasPrefix(dir, "/") {
			c.errorf(name, "%q must be an absolute path", dir)
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
		case syscall.Access(dir, 2|1) != nil:
			c.errorf(name, "%s is not writable by this user (%s)", dir, fmt.Sprint(os.Getuid()))
		case st.Mode().Perm()&0o002 != 0:
			c.errorf(name, "%s is writable by everyone (mode %o): anyone could forge or read queued mail", dir, st.Mode().Perm())
		}
	}
}
