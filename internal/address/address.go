package address

import "strings"

// Address is a mailbox in Postfix's internal form: Local is the local part
// with any RFC 5321 quoting removed ("a b" for `"a b"@x`), Domain is the
// domain or address literal as received, trailing dot included. Domain is
// empty for an unqualified address such as <postmaster>.
//
// The internal form is what matters for relay control: `"user@remote"@x`
// and the Sendmail-style `user@remote@x` are the same address, and both
// must be resolved by looking inside the local part (see Resolve).
type Address struct {
	Local, Domain string
}

// String returns the address in SMTP form: the local part as is when it is
// a Dot-string, otherwise as a Quoted-string with '"' and '\' escaped, so
// that parsing the result gives back the same Address. Addresses from
// ParsePath never contain control characters; String does not make other
// addresses safe to send.
func (a Address) String() string {
	var b strings.Builder
	if isDotString(a.Local) {
		b.WriteString(a.Local)
	} else {
		b.WriteByte('"')
		for i := 0; i < len(a.Local); i++ {
			if c := a.Local[i]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(a.Local[i])
		}
		b.WriteByte('"')
	}
	if a.Domain != "" {
		b.WriteByte('@')
		b.WriteString(a.Domain)
	}
	return b.String()
}

// Routed reports whether the local part still holds sender-specified
// routing ('@', '!' or '%'). This is Postfix's RESOLVE_FLAG_ROUTED, which
// the resolver sets whatever allow_percent_hack and swap_bangpath say
// ("we can't know how the next MX host is set up", resolve.c), and which
// makes permit_auth_destination refuse even a local domain. A routed
// address must never be authorised for relaying: the next hop may act on
// the operators and send the mail elsewhere.
func (a Address) Routed() bool { return strings.ContainsAny(a.Local, "@!%") }

// Resplit returns the address split again at the last '@' of its internal
// form, as Postfix sees an address once it has dropped the client's quotes:
// <"user@remote"> is user@remote, <"a b"> stays "a b". Postfix logs
// orig_to= in this form.
func (a Address) Resplit() Address { return splitInternal(a.internal()) }

// splitInternal splits an internal form (no quotes) at its last '@'.
func splitInternal(s string) Address {
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		return Address{Local: s[:at], Domain: s[at+1:]}
	}
	return Address{Local: s}
}

// ASCII reports whether the address is all ASCII, i.e. needs no SMTPUTF8.
func (a Address) ASCII() bool { return isASCII(a.Local) && isASCII(a.Domain) }

// internal is the single-string internal form Postfix works on; the domain
// is whatever follows the last '@'.
func (a Address) internal() string {
	if a.Domain == "" {
		return a.Local
	}
	return a.Local + "@" + a.Domain
}

// Path is a parsed MAIL FROM or RCPT TO argument.
type Path struct {
	// Null is the null reverse-path <> (MAIL FROM only).
	Null bool
	// Addr is the mailbox; any source route (@a,@b:) has been dropped, as
	// RFC 5321 section 4.1.1.3 tells servers to do and Postfix does.
	Addr Address
	// Raw is the path as received, with its angle brackets if it had any.
	// smtpd uses it (brackets removed) as the DSN original recipient when
	// the client sent no ORCPT.
	Raw string
}

// String returns the path in angle brackets.
func (p Path) String() string {
	if p.Null {
		return "<>"
	}
	return "<" + p.Addr.String() + ">"
}
