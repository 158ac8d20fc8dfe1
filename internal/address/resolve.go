package address

import "strings"

// ResolveOptions are the main.cf parameters that decide where an address
// goes. DefaultResolveOptions gives Postfix's defaults; the zero value has
// every rewrite switched off.
type ResolveOptions struct {
	// IsLocal is resolve_local(): is the domain in mydestination, or a
	// literal of an inet_interfaces or proxy_interfaces address (see
	// LiteralIP)? It must ignore case. It is asked only about domains that
	// pass ValidDomain, without the trailing dot, so "example.com.." can
	// never be local.
	IsLocal func(domain string) bool
	// MyHostname qualifies a local part that is still bare after
	// rewriting (resolve.c appends @$myhostname).
	MyHostname string
	// MyOrigin is appended to a bare local part when AppendAtMyOrigin
	// (append_at_myorigin = yes, myorigin = $myhostname by default).
	MyOrigin         string
	AppendAtMyOrigin bool
	// MyDomain is appended to a one-label domain when AppendDotMyDomain
	// (append_dot_mydomain: yes at compatibility_level 0, else no).
	MyDomain          string
	AppendDotMyDomain bool
	// AllowPercentHack is allow_percent_hack (default yes): user%dom2@dom1
	// becomes user@dom2 once dom1 is found local.
	AllowPercentHack bool
	// SwapBangPath is swap_bangpath (default yes): dom2!user@dom1 becomes
	// user@dom2 once dom1 is found local.
	SwapBangPath bool
	// ResolveDequotedAddress is resolve_dequoted_address (default yes):
	// after a local domain is stripped, look for '@', '%' and '!' inside a
	// quoted local part too, so "user@remote"@local resolves to
	// user@remote, remote, and reject_unauth_destination refuses it.
	ResolveDequotedAddress bool
	// ResolveNullDomain is resolve_null_domain (default no): "user@"
	// resolves as if "@" were absent (so @$myhostname) instead of being
	// refused as a syntax error.
	ResolveNullDomain bool
	// EmptyAddressRecipient replaces an empty local part
	// (empty_address_recipient = MAILER-DAEMON).
	EmptyAddressRecipient string
}

// DefaultResolveOptions returns Postfix's defaults for a host named
// myhostname at compatibility_level 2 or later: myorigin = $myhostname,
// mydomain = $myhostname minus its first label (localdomain if none).
func DefaultResolveOptions(myhostname string, isLocal func(string) bool) ResolveOptions {
	mydomain := "localdomain"
	if _, rest, ok := strings.Cut(myhostname, "."); ok && rest != "" {
		mydomain = rest
	}
	return ResolveOptions{
		IsLocal: isLocal, MyHostname: myhostname,
		MyOrigin: myhostname, AppendAtMyOrigin: true, MyDomain: mydomain,
		AllowPercentHack: true, SwapBangPath: true, ResolveDequotedAddress: true,
		EmptyAddressRecipient: "MAILER-DAEMON",
	}
}

// Resolve finds the recipient trivial-rewrite(8) would deliver to, as
// smtpd sees it for reject_unauth_destination: first canonicalised in the
// "local" rewrite context (smtpd_resolve.c), then resolve.c's loop —
// strip a trailing dot, strip the domain while it is local, then act on
// routing operators left in the local part (bang path, percent hack,
// dequoting) and start again. The loop ends at the first remote domain,
// so user%remote@local and "user@remote"@local end at remote, never local.
//
// The result always carries a domain. If ValidDomain refuses it (as for
// `"user@"@local` or `"u@a..b"@local`), Postfix answers the command with
// 501 5.1.3 / 5.1.7 (RESOLVE_FLAG_ERROR); see Options.CheckResolved. The
// result is local only if ResolveOptions.Local says so: a local domain
// with routing operators left in the local part is not.
func Resolve(a Address, o ResolveOptions) Address {
	if o.plain(a) {
		return a // local or not, user@domain resolves to itself
	}
	return resolve(a, o)
}

// resolve is Resolve without the shortcut for plain addresses.
func resolve(a Address, o ResolveOptions) Address {
	if o.EmptyAddressRecipient == "" {
		o.EmptyAddressRecipient = "MAILER-DAEMON"
	}
	s := o.canon(a.internal(), false)
	saved, hasSaved := "", false
	// Every pass removes a domain or an operator, or appends a domain once
	// no operator is left; Postfix's own bound is the same.
	for n, limit := 0, len(s)+100; n <= limit; n++ {
		at := strings.LastIndexByte(s, '@')
		if at >= 0 && strings.HasSuffix(s, ".") && len(s)-at > 2 && s[len(s)-2] != '.' {
			s = s[:len(s)-1]
		}
		if at == len(s)-1 && o.ResolveNullDomain {
			s, at = s[:at], -1
		}
		if at >= 0 {
			d := s[at+1:]
			if d != "" && !o.local(d) {
				return Address{Local: s[:at], Domain: d}
			}
			// A null domain falls through as if it were local and makes
			// the final address invalid (resolve_null_domain = no).
			saved, hasSaved, s = d, true, s[:at]
		}
		quoted := !is822DotString(s)
		switch {
		case routeEnd(s) >= 0:
			s = o.canon(s, false) // a source route exposed by dequoting
			continue
		case !quoted && (o.SwapBangPath && strings.Contains(s, "!") ||
			o.AllowPercentHack && strings.Contains(s, "%")):
			s = o.canon(s, false)
			continue
		case quoted && o.ResolveDequotedAddress:
			if strings.Contains(s, "@") {
				s = o.canon(s, false) // now split at its last '@'
				continue
			}
			if i := strings.LastIndexByte(s, '%'); i >= 0 && o.AllowPercentHack {
				s = o.canon(s[:i]+"@"+s[i+1:], false)
				continue
			}
			if o.SwapBangPath && strings.Contains(s, "!") {
				s = o.canon(s, true) // Postfix re-scans the raw text
				continue
			}
		}
		if s == "" {
			s = o.EmptyAddressRecipient
			continue
		}
		if !hasSaved {
			s += "@" + o.MyHostname
			continue
		}
		return Address{Local: s, Domain: saved}
	}
	return Address{Local: s} // Postfix gives up too (RESOLVE_FLAG_FAIL)
}

// local wraps IsLocal with the guarantees documented there.
func (o ResolveOptions) local(d string) bool {
	return o.IsLocal != nil && ValidDomain(d, true) && o.IsLocal(d)
}

// Local reports whether r, a result of Resolve, is delivered on this host:
// its domain is local and it is not Routed. Relay control must allow a
// recipient only if this holds or its domain is one of the virtual or
// relay domains, and never when r.Routed() (permit_auth_destination).
func (o ResolveOptions) Local(r Address) bool { return !r.Routed() && o.local(r.Domain) }

// LocalClass reports whether r, a result of Resolve, is in Postfix's local
// address class (RESOLVE_CLASS_LOCAL): its domain is local, whatever
// routing operators its local part keeps (RESOLVE_FLAG_ROUTED). The
// recipient table check applies to this class, so user%host@local with
// allow_percent_hack = no is still looked up, and refused if unknown.
func (o ResolveOptions) LocalClass(r Address) bool { return o.local(r.Domain) }

// canon is rewrite_tree() in the "local" context on the internal form.
// The local part counts as quoted when quote_822_local() would quote it;
// operators inside a quoted local part are invisible here, only the
// resolver's dequoting step sees them. bare treats s as unquoted tokens,
// as Postfix does after dequoting a local part with a '!'.
func (o ResolveOptions) canon(s string, bare bool) string {
	if i := routeEnd(s); i >= 0 && i < len(s)-1 {
		s = s[i+1:] // strip source route
	}
	if s == "" {
		return s
	}
	at := strings.LastIndexByte(s, '@')
	unquoted := bare || is822DotString(s)
	switch {
	case at >= 0:
	case o.SwapBangPath && unquoted && strings.Contains(s, "!"):
		i := strings.IndexByte(s, '!') // the first one: a!b!user -> b!user@a
		s, at = s[i+1:]+"@"+s[:i], len(s)-i-1
	case o.AllowPercentHack && unquoted && strings.Contains(s, "%"):
		at = strings.LastIndexByte(s, '%') // the last one
		s = s[:at] + "@" + s[at+1:]
	case o.AppendAtMyOrigin && o.MyOrigin != "":
		s, at = s+"@"+o.MyOrigin, len(s)
	}
	if d := s[at+1:]; at >= 0 && o.AppendDotMyDomain && o.MyDomain != "" &&
		d != "" && !strings.ContainsAny(d, ".[") {
		s += "." + o.MyDomain
	}
	// Strip a trailing dot, not ".." or "@.", and not inside quotes.
	if n := len(s); n > 1 && s[n-1] == '.' && s[n-2] != '.' && s[n-2] != '@' && (at >= 0 || unquoted) {
		s = s[:n-1]
	}
	return s
}

// routeEnd returns the index of the ':' that ends a source route at the
// start of s, or -1. Postfix's token parser never mistakes the colons of
// "[IPv6:...]" for one, so the first ':' outside brackets counts, and only
// if what precedes it is a valid route.
func routeEnd(s string) int {
	if !strings.HasPrefix(s, "@") {
		return -1
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ':':
			if depth == 0 {
				if validRoute(s[:i], true) {
					return i
				}
				return -1
			}
		}
	}
	return -1
}

// is822DotString is quote_822_local()'s test of whether a local part can
// stay unquoted; 8-bit bytes do not force quotes (QUOTE_FLAG_8BITCLEAN).
func is822DotString(local string) bool {
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c <= ' ' || c == 0x7f || strings.IndexByte(`()<>@,;:\"[]`, c) >= 0 {
			return false
		}
	}
	return true
}

// CheckResolved is smtpd_check_addr() applied to a result of Resolve: a
// domain that ValidDomain refuses, or a non-ASCII domain in a transaction
// without SMTPUTF8, gets o's "Bad ... address syntax" reply; so does a
// local part starting with '-' unless o.AllowMinUser.
func (o Options) CheckResolved(r Address, smtputf8 bool) error {
	if !ValidDomain(r.Domain, smtputf8) || !o.AllowMinUser && strings.HasPrefix(r.Local, "-") {
		return syntaxError(o.Rcpt)
	}
	return nil
}
