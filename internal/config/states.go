package config

import (
	"fmt"
	"path"
	"strings"
)

// State is what postern does with a parameter that is set: every name
// postern or Postfix knows has exactly one. A mail administrator reads
// "accepted" as "enforced", so nothing unenforced may look accepted.
type State int

const (
	// StateImplemented: postern applies the value (an entry of paramList
	// not named in notEnforced).
	StateImplemented State = iota
	// StateNoEffect: accepted on purpose with no effect (a path of Postfix's
	// own layout, a log level); Status.Reason says why. Never a
	// security-relevant parameter.
	StateNoEffect
	// StateRefused: security-relevant (or read and not applied) and not
	// implemented. `postern check` reports an error, so start and reload
	// refuse the configuration,
	// unless the value is one postern's behaviour already matches
	// (Status.Harmless): turning a feature off is enforced trivially.
	StateRefused
	// StateUnimplemented: a Postfix parameter postern does not implement yet
	// and that does not weaken security when ignored: a warning.
	StateUnimplemented
	// StateUnknown: neither postern's nor Postfix's.
	StateUnknown
)

func (s State) String() string {
	return [...]string{"implemented", "no effect", "refused", "not implemented", "unknown"}[s]
}

// Status is a parameter's state and, for StateRefused ones, the feature
// postern lacks.
type Status struct {
	State  State
	Reason string   // StateNoEffect: why it has none
	f      *feature // StateRefused: the feature
}

// StateOf returns name's state.
func StateOf(name string) Status {
	if r, ok := noEffect[name]; ok {
		return Status{State: StateNoEffect, Reason: r}
	}
	if _, listed := params[name]; (listed && !notEnforced[name] && !knownOnly[name]) || implementedPattern(name) {
		return Status{State: StateImplemented}
	}
	if r := noEffectPattern(name); r != "" {
		return Status{State: StateNoEffect, Reason: r}
	}
	if f := refusedFeature(name); f != nil {
		return Status{State: StateRefused, f: f}
	}
	if SecurityRelevant(name) {
		return Status{State: StateRefused, f: &unlisted}
	}
	if KnownToPostfix(name) {
		return Status{State: StateUnimplemented}
	}
	return Status{State: StateUnknown}
}

// Harmless reports whether value, set for a StateRefused parameter name, is
// one postern's behaviour already matches: the feature stays off.
func (s Status) Harmless(name, value string) bool {
	if s.State != StateRefused {
		return true
	}
	return s.f.harmless(name, value)
}

// Problem says, for a StateRefused parameter set to a value that is not
// harmless, what postern lacks and what to do.
func (s Status) Problem(name string) string {
	f := s.f
	fix := "remove the setting"
	if off := f.offValues(name); len(off) > 0 && off[0] != "" && off[0] != "*" {
		fix = fmt.Sprintf("remove the setting or set it to %s", strings.TrimPrefix(off[0], "="))
	}
	return fmt.Sprintf("postern does not implement %s yet: %s; %s", f.what, fix, f.risk)
}

// Tunes reports whether name, Refused, only tunes its feature (a
// dependent): it has no effect while the feature is off.
func (s Status) Tunes(name string) bool {
	if s.f == nil {
		return false
	}
	_, isGate := s.f.gateFor(name)
	return !isGate
}

// Feature names what a Refused parameter configures.
func (s Status) Feature() string {
	if s.f == nil {
		return ""
	}
	return s.f.what
}

// feature is one security-relevant capability postern lacks, and the
// parameters that configure it.
type feature struct {
	what string // "STARTTLS for incoming mail"
	risk string // what accepting the setting would mean
	// gates are the parameters that switch the feature on (glob
	// patterns), each with the values that keep it off, lower case,
	// list elements joined by ", "; "*" means any value; "=text" is
	// compared with the value as written; none means no value is.
	gates []gate
	// dependents only tune the feature: they have no effect, in
	// Postfix too, while every gate is off, and while one is on, that
	// gate is the error to fix.
	dependents []string
	// plain: not security-relevant, but read and not applied.
	plain bool
}

type gate struct {
	pattern string
	off     []string
}

func (f *feature) gateFor(name string) (gate, bool) {
	for _, g := range f.gates {
		if match(g.pattern, name) {
			return g, true
		}
	}
	return gate{}, false
}

func (f *feature) offValues(name string) []string {
	g, _ := f.gateFor(name)
	return g.off
}

func (f *feature) harmless(name, value string) bool {
	if g, ok := f.gateFor(name); ok {
		return isOff(g.off, value)
	}
	return true // a dependent: see feature.dependents
}

func isOff(off []string, value string) bool {
	v := normalize(value)
	for _, o := range off {
		if exact, ok := strings.CutPrefix(o, "="); ok { // compared as written
			if value == exact {
				return true
			}
			continue
		}
		if o == "*" || o == v {
			return true
		}
	}
	return false
}

// normalize lower-cases a value and writes its list elements joined by
// ", ", so that "!SSLv2,!SSLv3" and "!SSLv2, !SSLv3" compare equal.
func normalize(v string) string {
	return strings.Join(Fields(strings.ToLower(v)), ", ")
}

func (f *feature) covers(name string) bool {
	if _, ok := f.gateFor(name); ok {
		return true
	}
	for _, p := range f.dependents {
		if match(p, name) {
			return true
		}
	}
	return false
}

func refusedFeature(name string) *feature {
	for _, f := range features {
		if f.covers(name) {
			return f
		}
	}
	return nil
}

func match(pattern, name string) bool {
	ok, _ := path.Match(pattern, name)
	return ok
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if match(p, name) {
			return true
		}
	}
	return false
}

// SecurityRelevant reports whether name is security-relevant: it
// configures encryption, authentication, filtering, limits or who may
// send or relay. Such a parameter is never in the StateNoEffect state, and
// one postern does not implement is StateRefused.
func SecurityRelevant(name string) bool {
	if matchAny(notSecurity, name) {
		return false
	}
	if f := refusedFeature(name); f != nil && !f.plain {
		return true
	}
	return matchAny(security, name)
}

// unlisted is the feature of a security-relevant parameter that no
// feature below names: refused unless empty.
var unlisted = feature{what: "this parameter", risk: "it would be ignored",
	gates: []gate{{pattern: "*", off: []string{""}}}}

// implementedPattern: Postfix names postern reads by pattern, not by an
// entry of paramList (the queue manager's per-transport limits).
func implementedPattern(name string) bool {
	return matchAny([]string{"*_destination_concurrency_limit", "*_destination_recipient_limit"}, name)
}

// checkSMTPTLSLevel accepts the smtp client's TLS levels; dane and
// fingerprint are Postfix's but not implemented: refused, not ignored.
func checkSMTPTLSLevel(_ *Config, v string) error {
	switch v {
	case "", "none", "may", "encrypt", "verify", "secure":
		return nil
	case "dane", "dane-only", "fingerprint":
		return fmt.Errorf("postern does not implement %s yet: use encrypt, verify or secure; the level would otherwise not be enforced", v)
	}
	return fmt.Errorf("invalid TLS level %q (use none, may, encrypt, verify or secure)", v)
}
