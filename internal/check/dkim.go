package check

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/postern-mta/postern/internal/dkimsign"
	"github.com/postern-mta/postern/internal/maps"
)

// dkimSigning checks dkim_signing_maps as the daemon loads it: every
// entry of a table that can be listed must parse and its keys must load
// (safe modes, readable by mail_owner, which reads them again at
// reload), else start and reload refuse the configuration.
func (c *checker) dkimSigning() {
	const param = "dkim_signing_maps"
	specs, err := c.cfg.List(param)
	if err != nil || len(specs) == 0 {
		return
	}
	keyDir := c.value("dkim_key_directory")
	if !strings.HasPrefix(keyDir, "/") {
		c.errorf("dkim_key_directory", "%q must be an absolute path", keyDir)
		return
	}
	var tables []maps.Table
	for _, spec := range specs {
		t, err := maps.Open(spec)
		if err != nil {
			c.errorf(param, "%v", err)
			continue
		}
		defer maps.Close(t)
		tables = append(tables, t)
	}
	problems, unlisted := dkimsign.Check(tables, keyDir)
	for _, p := range problems {
		fix := ""
		if errors.Is(p.Err, fs.ErrNotExist) {
			fix = ` (make it with "postern dkim keygen ` + p.Domain + ` SELECTOR", or fix the entry)`
		}
		c.errorf(param, "table %s, entry %s: %v%s", p.Table, p.Domain, p.Err, fix)
	}
	for _, name := range unlisted {
		c.warnf(param, "table %s cannot be listed: its entries and keys are checked only when a message needs them (a bad one makes that mail wait: 451 4.7.0)", name)
	}
	owner, asOwner := c.mailOwner()
	if !asOwner {
		return
	}
	for _, t := range tables {
		maps.Each(t, func(domain, value string) error {
			refs, _ := dkimsign.ParseValue(value, keyDir)
			for _, r := range refs {
				st, err := os.Stat(r.File)
				if err != nil || readableBy(st, owner.UID, owner.GID) {
					continue // a missing key is a problem above
				}
				c.errorf(param, "table %s, entry %s: key file %s cannot be read by mail_owner %s, as which postern reads it again at reload: run \"chown %s %s\"",
					t.Name(), domain, r.File, owner.Name, owner.Name, r.File)
			}
			return nil
		})
	}
}
