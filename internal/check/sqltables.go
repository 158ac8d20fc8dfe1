package check

import (
	"fmt"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/diraccess"
	"github.com/postern-mta/postern/internal/sqlmap"
)

// sqlTables checks the table files of the pgsql:, mysql: and sqlite:
// tables that parameters name (without connecting): unreadable, unknown
// or unimplemented parameters, a missing query, a bad template; each
// problem at its file, line and parameter.
func (c *checker) sqlTables() {
	seen := map[string]bool{}
	for _, name := range config.Names() {
		p, _ := config.Lookup(name)
		// A parameter postern knows only for its default opens nothing.
		if p.Kind != config.MapList && p.Kind != config.Restrictions || config.OnlyKnown(name) {
			continue
		}
		list, err := c.cfg.List(name)
		if err != nil {
			continue
		}
		for _, m := range list {
			ref := strings.TrimPrefix(m, "proxy:")
			if seen[ref] {
				continue
			}
			seen[ref] = true
			for _, pr := range sqlmap.CheckFile(ref) {
				c.rep.Diags = append(c.rep.Diags, config.Diag{Severity: config.Error, File: pr.File, Line: pr.Line,
					Param: pr.Param, Msg: fmt.Sprintf("%s (table %s in %s)", pr.Msg, m, name)})
			}
			c.sqlFileAccess(m, name, sqlmap.Files(ref))
		}
	}
}

// sqlFileAccess: the daemon opens tables after it drops to mail_owner,
// so mail_owner must read the table file (and the SQLite database); a
// table file holds a password, so others should not.
func (c *checker) sqlFileAccess(ref, param string, files []string) {
	owner, asOwner := c.mailOwner()
	for i, f := range files {
		if asOwner {
			if err := diraccess.Readable(f, owner); err != nil {
				c.rep.Diags = append(c.rep.Diags, config.Diag{Severity: config.Error, File: f,
					Msg: fmt.Sprintf("%v: the daemon reads it as mail_owner, so every lookup of %s (in %s) would fail; e.g. chgrp %s %s; chmod 640 %s", err, ref, param, owner.Name, f, f)})
				continue
			}
		}
		if st, err := os.Stat(f); err == nil && i == 0 && st.Mode().Perm()&0o004 != 0 {
			c.rep.Diags = append(c.rep.Diags, config.Diag{Severity: config.Warning, File: f,
				Msg: fmt.Sprintf("readable by everyone (mode %o), and it may hold the database password: chmod o-r %s", st.Mode().Perm(), f)})
		}
	}
}
