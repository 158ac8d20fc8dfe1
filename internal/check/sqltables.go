package check

import (
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/config"
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
		if p.Kind != config.MapList && p.Kind != config.Restrictions {
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
		}
	}
}
