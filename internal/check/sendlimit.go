package check

import (
	"fmt"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/maps"
	"github.com/postern-mta/postern/internal/mastercf"
	"github.com/postern-mta/postern/internal/sendlimit"
)

// sendLimits checks every value of sender_rate_limit_maps, in main.cf
// and in smtpd services' -o overrides, that can be known in advance
// (sendlimit.Check): a bad one is an error, so start and reload refuse
// it instead of deferring the mail of the sender who meets it; tables
// without a catch-all (*) entry get a warning.
func (c *checker) sendLimits() {
	const param = "sender_rate_limit_maps"
	seen := map[string]bool{}
	check := func(specs []string, report func(sev config.Severity, msg string)) {
		if len(specs) == 0 {
			return
		}
		var tables, all []maps.Table
		broken := false
		for _, spec := range specs {
			t, err := maps.Open(spec)
			if err != nil {
				broken = true
				if !seen[spec] {
					report(config.Error, err.Error())
				}
				seen[spec] = true
				continue
			}
			defer maps.Close(t)
			all = append(all, t)
			if !seen[spec] {
				tables = append(tables, t)
			}
			seen[spec] = true
		}
		if !broken && !sendlimit.HasCatchAll(all) {
			report(config.Warning, "no entry for * (the catch-all: one budget for every sender no other key finds): mail of a login, uid or sender domain the tables do not name, or from <>, is not limited")
		}
		problems, unlisted, errs := sendlimit.Check(tables)
		for _, p := range problems {
			report(config.Error, p.Error())
		}
		for _, err := range errs {
			report(config.Error, err.Error())
		}
		for _, name := range unlisted {
			report(config.Warning, fmt.Sprintf("table %s cannot be listed: its values are checked only when a sender is looked up (a bad one makes that mail wait: 451 4.3.0)", name))
		}
	}
	if specs, err := c.cfg.List(param); err == nil {
		check(specs, func(sev config.Severity, msg string) { c.add(sev, param, fmt.Errorf("%s", msg)) })
	}
	if c.master == nil {
		return
	}
	for _, s := range c.master.Services {
		if _, ok := s.Param(param); !ok || s.Command != "smtpd" || (s.Type != mastercf.Inet && s.Type != mastercf.Pass) {
			continue
		}
		specs, err := s.Settings(c.cfg).List(param)
		if err != nil {
			continue // reported with the override
		}
		check(specs, func(sev config.Severity, msg string) {
			c.masterDiag(sev, s, fmt.Sprintf("-o %s: %s", param, msg))
		})
	}
}
