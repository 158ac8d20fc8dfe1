package milter

import (
	"fmt"
	"strings"
)

// MacroLists are the macro names sent with each event: Postfix's
// milter_*_macros parameters. A milter may replace a stage's list in
// its OPTNEG reply (Negotiated.Macros).
type MacroLists struct {
	Connect, Helo, Mail, Rcpt, Data, EOH, EOM, Unknown []string
	// Defaults are milter_macro_defaults: values of macros that have
	// none from the session, by name in the braced form ("{auth_type}";
	// one-letter names bare).
	Defaults map[string]string
}

// MacroKey is a macro's name as Lookup and Defaults take it: braced
// unless it is one character long.
func MacroKey(n string) string {
	n = strings.TrimSuffix(strings.TrimPrefix(n, "{"), "}")
	if len(n) > 1 {
		return "{" + n + "}"
	}
	return n
}

// ParseMacroDefaults parses milter_macro_defaults: name=value pairs,
// separated by commas or blanks, a pair with blanks in "{ }" (already
// split by config.Fields).
func ParseMacroDefaults(elems []string) (map[string]string, error) {
	d := map[string]string{}
	for _, e := range elems {
		n, v, ok := strings.Cut(e, "=")
		n = strings.TrimSpace(n)
		if !ok || n == "" {
			return nil, fmt.Errorf("milter_macro_defaults: want name=value, not %q", e)
		}
		d[MacroKey(n)] = strings.TrimSpace(v)
	}
	return d, nil
}

// Postfix 3.7's defaults (postconf -d).
const (
	DefaultConnectMacros = "j {daemon_name} {daemon_addr} v _"
	DefaultHeloMacros    = "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}"
	DefaultMailMacros    = "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}"
	DefaultRcptMacros    = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}"
	DefaultDataMacros    = "i"
	DefaultEOHMacros     = "i"
	DefaultEOMMacros     = "i"
	DefaultUnknownMacros = ""
)

// MacroNames splits a macro list (comma or space separated).
func MacroNames(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n' })
}

// DefaultMacroLists are Postfix's default lists.
func DefaultMacroLists() MacroLists {
	return MacroLists{
		Connect: MacroNames(DefaultConnectMacros), Helo: MacroNames(DefaultHeloMacros),
		Mail: MacroNames(DefaultMailMacros), Rcpt: MacroNames(DefaultRcptMacros),
		Data: MacroNames(DefaultDataMacros), EOH: MacroNames(DefaultEOHMacros),
		EOM: MacroNames(DefaultEOMMacros), Unknown: MacroNames(DefaultUnknownMacros),
	}
}

// stageNone marks an event without an OPTNEG macro stage (UNKNOWN).
const stageNone = ^uint32(0)

// names returns the list for a stage: the milter's own when it sent one.
func (l MacroLists) names(stage uint32, neg Negotiated) []string {
	if v, ok := neg.Macros[stage]; ok && stage != stageNone {
		return MacroNames(v)
	}
	switch stage {
	case StageConnect:
		return l.Connect
	case StageHelo:
		return l.Helo
	case StageMail:
		return l.Mail
	case StageRcpt:
		return l.Rcpt
	case StageData:
		return l.Data
	case StageEOH:
		return l.EOH
	case StageEOM:
		return l.EOM
	}
	return l.Unknown
}

// Lookup returns a macro's value; ok is false when it is undefined
// (it is then not sent, as Postfix does).
type Lookup func(name string) (value string, ok bool)

// eval returns the defined macros of names, both "{name}" and "name"
// looked up in the braced form for long names, as Postfix accepts both.
func eval(names []string, look Lookup, defaults map[string]string) []Macro {
	var ms []Macro
	for _, n := range names {
		key := MacroKey(n)
		v, ok := "", false
		if look != nil {
			v, ok = look(key)
		}
		if !ok {
			v, ok = defaults[key]
		}
		if ok {
			ms = append(ms, Macro{Name: n, Value: v})
		}
	}
	return ms
}
