package sasl

import (
	"fmt"
	"strings"
)

// Options are smtpd_sasl_security_options (before TLS) or
// smtpd_sasl_tls_security_options (after): the properties a mechanism
// must not have (the no* options) or must have (mutual_auth,
// forward_secrecy) to be offered, as Postfix's Dovecot client filters
// the MECH list.
type Options struct {
	NoPlaintext, NoActive, NoDictionary, NoAnonymous bool
	MutualAuth, ForwardSecrecy                       bool
}

// ParseOptions reads the option names, as Postfix spells them; an
// unknown name is an error (Postfix's smtpd dies on it).
func ParseOptions(names []string) (Options, error) {
	var o Options
	for _, n := range names {
		switch strings.ToLower(n) {
		case "noplaintext":
			o.NoPlaintext = true
		case "noactive":
			o.NoActive = true
		case "nodictionary":
			o.NoDictionary = true
		case "noanonymous":
			o.NoAnonymous = true
		case "mutual_auth":
			o.MutualAuth = true
		case "forward_secrecy":
			o.ForwardSecrecy = true
		default:
			return Options{}, fmt.Errorf("unknown SASL security option %q (noplaintext, noactive, nodictionary, noanonymous, mutual_auth, forward_secrecy)", n)
		}
	}
	return o, nil
}

// Allows reports whether m may be offered under o.
func (o Options) Allows(m Mechanism) bool {
	switch {
	case o.NoPlaintext && m.Plaintext, o.NoActive && m.Active,
		o.NoDictionary && m.Dictionary, o.NoAnonymous && m.Anonymous:
		return false
	case o.MutualAuth && !m.MutualAuth, o.ForwardSecrecy && !m.ForwardSecrecy:
		return false
	}
	return true
}

// Filter returns the mechanisms o allows, in the backend's order.
func Filter(mechs []Mechanism, o Options) []Mechanism {
	var out []Mechanism
	for _, m := range mechs {
		if o.Allows(m) {
			out = append(out, m)
		}
	}
	return out
}

// MechFilter is smtpd_sasl_mechanism_filter, which chooses the mechanisms
// EHLO announces: a list of mechanism names,
// "!name" to exclude one, and "static:…" (a table that matches every
// name); the first element that matches a mechanism decides, and a
// mechanism nothing matches is dropped, as Postfix's string list.
type MechFilter []string

// ParseMechFilter checks the list: other lookup tables than static: are
// not supported.
func ParseMechFilter(list []string) (MechFilter, error) {
	for _, e := range list {
		if name := strings.TrimPrefix(e, "!"); strings.Contains(name, ":") && !strings.HasPrefix(strings.ToLower(name), "static:") {
			return nil, fmt.Errorf("%q: postern's smtpd_sasl_mechanism_filter takes mechanism names, !name and static:rest, not lookup tables", e)
		}
	}
	return MechFilter(list), nil
}

// Allows reports whether the filter keeps mechanism name.
func (f MechFilter) Allows(name string) bool {
	for _, e := range f {
		neg := strings.HasPrefix(e, "!")
		pat := strings.TrimPrefix(e, "!")
		if strings.HasPrefix(strings.ToLower(pat), "static:") || strings.EqualFold(pat, name) {
			return !neg
		}
	}
	return false
}
