package check

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/postern-mta/postern/internal/config"
	"github.com/postern-mta/postern/internal/mastercf"
	"github.com/postern-mta/postern/internal/policy"
	"github.com/postern-mta/postern/internal/postscreen"
	"github.com/postern-mta/postern/internal/restriction"
)

// serviceOverrides gives master.cf's `-o name=value` options the rules
// of main.cf. The daemon runs each smtpd service with main.cf's values
// overridden by its -o options (mastercf.Service.Settings): an
// implemented parameter's value is validated in that view, a refused one
// is an error as in main.cf, and one that smtpd does not read (a queue
// manager or delivery parameter) is a warning that says it has no effect
// there. Other services' overrides are not applied: postern runs no
// other master.cf daemon.
func (c *checker) serviceOverrides() {
	if c.master == nil {
		return
	}
	for _, s := range c.master.Services {
		if s.Command == "postscreen" && s.Type == mastercf.Inet {
			if p := c.master.Find("smtpd", mastercf.Pass); p == nil || p.Command != "smtpd" {
				c.masterDiag(config.Error, s, "runs postscreen, but master.cf has no \"smtpd pass - - y - - smtpd\" service to hand the clients that pass to; add it (as Postfix's stock master.cf)")
			}
			if pc, err := postscreen.ConfigFrom(s.Settings(c.cfg)); err != nil {
				c.masterDiag(config.Error, s, err.Error())
			} else if err := (&postscreen.Screen{Config: pc}).Open(); err != nil {
				c.masterDiag(config.Error, s, err.Error())
			}
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
		c.implementedOverride(s, o, v)
	}
}

// implementedOverride handles an -o of a parameter postern implements.
func (c *checker) implementedOverride(s *mastercf.Service, o mastercf.Override, v string) {
	smtpd := (s.Type == mastercf.Inet || s.Type == mastercf.Pass) && s.Command == "smtpd"
	screen := s.Type == mastercf.Inet && s.Command == "postscreen"
	switch {
	case screen && !strings.HasPrefix(o.Name, "postscreen_") && o.Name != "syslog_name" && !slices.Contains(postscreen.OtherParams, o.Name):
		c.masterDiag(config.Warning, s, fmt.Sprintf("-o %s=%s: has no effect on this postscreen service: postscreen reads postscreen_* only; set it on the \"smtpd pass\" service that clients are handed to", o.Name, o.Value))
		return
	case screen:
		smtpd = true // validated below, as an smtpd service's
	}
	switch {
	case o.Name == "syslog_name":
		// The smtpd service's log program name (postern/submission/smtpd);
		// elsewhere cosmetic: log lines carry postern's program names.
		return
	case !smtpd && v == c.value(o.Name):
		return // what postern runs with anyway
	case !smtpd:
		msg := fmt.Sprintf("-o %s=%s: has no effect: postern applies master.cf -o options to smtpd services only, so %s runs with main.cf's value of %s (\"%s\")", o.Name, o.Value, s.Command, o.Name, c.value(o.Name))
		if config.SecurityRelevant(o.Name) {
			c.masterDiag(config.Error, s, msg+"; set it in main.cf or remove it")
		} else {
			c.masterDiag(config.Warning, s, msg)
		}
		return
	case !screen && !c.smtpdReads(o.Name):
		c.masterDiag(config.Warning, s, fmt.Sprintf("-o %s=%s: has no effect on this smtpd service: postern's SMTP server does not read %s (main.cf's value applies where it is used)", o.Name, o.Value, o.Name))
		return
	}
	scfg := s.Settings(c.cfg)
	err := scfg.Validate(o.Name)
	var w config.WarningError
	switch {
	case err == nil:
	case errors.As(err, &w):
		c.masterDiag(config.Warning, s, fmt.Sprintf("-o %s=%s: %v", o.Name, o.Value, w))
	default:
		for _, e := range splitJoined(err, "parameter "+o.Name+": ") {
			c.masterDiag(config.Error, s, fmt.Sprintf("-o %s=%s: %v", o.Name, o.Value, e))
		}
		return
	}
	c.info("%s: service %s: -o %s: applied to this service (%q)", c.master.Path, s.Key(), o.Name, valueIn(scfg, o.Name))
	if p, ok := config.Lookup(o.Name); ok && p.Kind == config.Restrictions {
		classes, _ := scfg.List("smtpd_restriction_classes")
		list, _ := scfg.List(o.Name)
		items, _ := restriction.Parse(list, classes)
		for _, it := range items {
			if !it.Class && !policy.Implements(it.Name) {
				c.masterDiag(config.Error, s, fmt.Sprintf("-o %s=%s: postern does not implement the restriction %s yet: remove it; until then every command it applies to is answered 451 4.3.5 Server configuration error", o.Name, o.Value, it.Name))
			}
			if it.Name == "check_policy_service" {
				if err := policy.CheckService(it.Arg); err != nil {
					c.masterDiag(config.Error, s, fmt.Sprintf("-o %s=%s: %v", o.Name, o.Value, err))
				}
			}
		}
	}
}

func (c *checker) masterDiag(sev config.Severity, s *mastercf.Service, msg string) {
	c.rep.Diags = append(c.rep.Diags, config.Diag{Severity: sev, File: c.master.Path, Line: s.Line,
		Msg: fmt.Sprintf("service %s: %s", s.Key(), msg)})
}
