package check

import (
	"fmt"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/mastercf"
)

// serviceOverrides gives master.cf's `-o name=value` options the rules
// of main.cf. postern applies no per-service override yet: every service
// runs with main.cf's values. So an override that changes a
// security-relevant parameter is an error, like a refused parameter set
// to something other than its "off" value; other changes are warnings.
func (c *checker) serviceOverrides() {
	if c.master == nil {
		return
	}
	for _, s := range c.master.Services {
		if s.Command == "postscreen" {
			c.masterDiag(config.Error, s, "runs postscreen, which postern does not implement yet: its checks would not run and postern would not listen here; run smtpd instead (postscreen's checks as smtpd_*_restrictions)")
		}
		for _, o := range s.Overrides {
			c.serviceOverride(s, o)
		}
	}
}

func (c *checker) serviceOverride(s *mastercf.Service, o mastercf.Override) {
	lookup := func(name string) (string, bool) {
		if name == "service_name" {
			return s.Name, true
		}
		if v, ok := s.Param(name); ok {
			return v, true
		}
		return c.cfg.Raw(name)
	}
	v, err := config.Expand(o.Value, lookup)
	if err != nil {
		c.masterDiag(config.Error, s, fmt.Sprintf("-o %s=%s: %v", o.Name, o.Value, err))
		return
	}
	st := config.StateOf(o.Name)
	switch st.State {
	case config.StateNoEffect:
		c.info("%s: service %s: -o %s: accepted, with no effect: %s", c.master.Path, s.Key(), o.Name, st.Reason)
	case config.StateRefused:
		if !st.Harmless(o.Name, v) {
			c.masterDiag(config.Error, s, fmt.Sprintf("-o %s=%s: %s", o.Name, o.Value, st.Problem(o.Name)))
		} else {
			c.info("%s: service %s: -o %s: %s", c.master.Path, s.Key(), o.Name, acceptedBecause(st, o.Name))
		}
	case config.StateUnimplemented:
		c.masterDiag(config.Warning, s, fmt.Sprintf("-o %s=%s: postern does not implement this Postfix parameter yet; it is ignored", o.Name, o.Value))
	case config.StateImplemented:
		if v == c.value(o.Name) {
			return // what the service runs with anyway
		}
		msg := fmt.Sprintf("-o %s=%s: postern does not apply master.cf -o overrides yet: the service runs with main.cf's value of %s (\"%s\")", o.Name, o.Value, o.Name, c.value(o.Name))
		switch {
		case o.Name == "syslog_name":
			// Cosmetic (Postfix's stock master.cf sets it for relay):
			// log lines carry postern's program names.
		case config.SecurityRelevant(o.Name):
			c.masterDiag(config.Error, s, msg+"; set it in main.cf or remove it")
		default:
			c.masterDiag(config.Warning, s, msg)
		}
	}
}

func (c *checker) masterDiag(sev config.Severity, s *mastercf.Service, msg string) {
	c.rep.Diags = append(c.rep.Diags, config.Diag{Severity: sev, File: c.master.Path, Line: s.Line,
		Msg: fmt.Sprintf("service %s: %s", s.Key(), msg)})
}
