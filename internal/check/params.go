package check

import (
	"errors"
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// alwaysValidated are checked even when main.cf leaves them at their
// default, because their defaults depend on the host or on other values.
var alwaysValidated = []string{"myhostname", "mydomain", "compatibility_level", "inet_protocols", "inet_interfaces", "mynetworks_style"}

// parameters validates every main.cf assignment: its expansion, its type
// and its own rules; it flags names postern ignores.
func (c *checker) parameters() {
	known := c.referenced()
	seen := map[string]bool{}
	for _, e := range c.cfg.Main.Entries {
		if c.cfg.Main.Values[e.Name].Line != e.Line {
			continue // overridden later; the parser already warned
		}
		seen[e.Name] = true
		st := config.StateOf(e.Name)
		switch {
		case st.State == config.StateImplemented:
			c.validate(e.Name)
		case st.State == config.StateNoEffect:
			c.expandOnly(e.Name)
			c.info("parameter %s: accepted, with no effect: %s", e.Name, st.Reason)
		case st.State == config.StateRefused:
			if v, err := c.cfg.Get(e.Name); err != nil {
				c.add(config.Error, e.Name, err)
			} else if !st.Harmless(e.Name, v) {
				c.errorf(e.Name, "%s", st.Problem(e.Name))
			} else {
				c.info("parameter %s: %s", e.Name, acceptedBecause(st, e.Name))
			}
		case st.State == config.StateUnimplemented:
			c.expandOnly(e.Name)
			c.warnf(e.Name, "postern does not implement this Postfix parameter yet; it is ignored")
		case known[e.Name]:
			c.expandOnly(e.Name) // a user-defined macro
		default:
			msg := "unknown parameter, not referenced anywhere: it has no effect"
			if s := suggest(e.Name); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			c.warnf(e.Name, "%s", msg)
		}
	}
	// Validate in dependency order so derived defaults can be skipped.
	for _, n := range alwaysValidated {
		if !seen[n] {
			c.validate(n)
		}
	}
	if lvl, err := config.ParseCompatLevel(c.value("compatibility_level")); err == nil && lvl.Compare(config.CompatLevel{Major: 3, Minor: 6}) < 0 {
		c.warnf("compatibility_level", "%s keeps Postfix's backwards-compatible defaults (see COMPATIBILITY_README); postern's default is 3.6", c.value("compatibility_level"))
	}
}

// acceptedBecause says why a Refused parameter's value is accepted.
func acceptedBecause(st config.Status, name string) string {
	if st.Tunes(name) {
		return fmt.Sprintf("no effect: it tunes %s, which postern does not implement yet (a setting that turns it on is refused)", st.Feature())
	}
	return fmt.Sprintf("accepted: postern does not implement %s yet, and this value is what postern does anyway", st.Feature())
}

// derivedFrom: a default computed from another parameter is not checked
// when that one is already reported (mydomain from a bad myhostname).
var derivedFrom = map[string]string{"mydomain": "myhostname", "inet_interfaces": "inet_protocols"}

func (c *checker) validate(name string) {
	if src, ok := derivedFrom[name]; ok && c.failed[src] {
		if _, set := c.cfg.SetInMain(name); !set {
			return
		}
	}
	undefined := c.undefinedRefs(name)
	for _, u := range undefined {
		c.warnf(name, "refers to undefined parameter $%s (it expands to nothing)", u)
	}
	err := c.cfg.Validate(name)
	var w config.WarningError
	switch {
	case err == nil:
	case errors.As(err, &w):
		c.add(config.Warning, name, w)
	default:
		c.failed[name] = true
		for _, e := range splitJoined(err, "parameter "+name+": ") {
			c.add(config.Error, name, e)
		}
	}
}

// splitJoined turns an errors.Join result (possibly behind a prefix) into
// one error per problem, so each gets its own report line.
func splitJoined(err error, prefix string) []error {
	inner := err
	if u := errors.Unwrap(err); u != nil && strings.HasPrefix(err.Error(), prefix) {
		inner = u
	}
	if j, ok := inner.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (c *checker) expandOnly(name string) {
	if _, err := c.cfg.Get(name); err != nil {
		c.add(config.Error, name, err)
	}
}

// undefinedRefs lists the names name's value refers to that nothing
// defines.
func (c *checker) undefinedRefs(name string) []string {
	raw, _ := c.cfg.Raw(name)
	var out []string
	ex := c.cfg.Expander()
	ex.Recurse = false
	ex.Undefined = func(n string) {
		if _, set := c.cfg.SetInMain(n); !set && !config.KnownToPostfix(n) {
			out = append(out, n)
		}
	}
	_, _ = ex.Expand(raw)
	return out
}

// referenced returns every name that some value refers to (main.cf,
// master.cf -o options, registry defaults) and the restriction classes:
// such names are user-defined, not typos.
func (c *checker) referenced() map[string]bool {
	refs := map[string]bool{}
	add := func(v string) {
		for _, n := range config.References(v) {
			refs[n] = true
		}
	}
	for _, e := range c.cfg.Main.Entries {
		add(e.Value)
	}
	classes, _ := c.cfg.List("smtpd_restriction_classes")
	for _, n := range classes {
		refs[n] = true // a restriction class: its value is a restriction list
	}
	for _, n := range config.Names() {
		if d, ok := c.cfg.Default(n); ok {
			add(d)
		}
	}
	if c.master != nil {
		for _, s := range c.master.Services {
			for _, o := range s.Overrides {
				add(o.Value)
			}
		}
	}
	return refs
}

// suggest returns the implemented or Postfix parameter closest to a
// misspelt name, if one is close.
func suggest(name string) string {
	best, bestD := "", 3
	try := func(n string) {
		if d := distance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	for _, n := range config.Names() {
		try(n)
	}
	for _, n := range config.PostfixNames() {
		try(n)
	}
	return best
}

// distance is the Levenshtein edit distance.
func distance(a, b string) int {
	if strings.EqualFold(a, b) {
		return 0
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
