package address

import "strings"

// Canonical returns the address as Postfix's cleanup(8) writes it into the
// queue file, and as every later step (routing, delivery, logging) sees
// it: trivial-rewrite's rewrite in the "local" context, applied to the
// internal form. A bare local part gets "@" + MyOrigin
// (append_at_myorigin), a one-label domain "." + MyDomain
// (append_dot_mydomain), a domain-less user%host or host!user becomes
// user@host (allow_percent_hack, swap_bangpath), and a trailing dot goes.
// An empty address becomes EmptyAddressRecipient first; one still without
// a domain (append_at_myorigin = no) gets "@" + MyHostname, as Postfix's
// queue manager then delivers and logs it.
//
// The internal form has no quotes, so the domain is whatever follows its
// last '@': <"user@remote.example"> is user@remote.example, exactly as
// Postfix 3.7.11 queues, logs and relay-checks it (measured: "554 5.7.1
// <user@remote.example>: Relay access denied"); no @$myorigin is appended
// to it. <"a b"> is "a b"@$myorigin.
//
// Canonical does not strip local domains or act on routing operators left
// of a domain (user%remote@local stays so); Resolve does, and relay control
// must ask Resolve.
func Canonical(a Address, o ResolveOptions) Address {
	s := a.internal()
	if s == "" {
		s = o.EmptyAddressRecipient
	}
	s = o.canon(s, false)
	c := Address{Local: s}
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		c = Address{Local: s[:at], Domain: s[at+1:]}
	}
	// What a percent hack or bang path leaves empty (<%>, <!>) is settled
	// as the resolver settles it; the smtpd accepts such addresses only
	// with resolve_null_domain = yes.
	if c.Local == "" {
		c.Local = o.EmptyAddressRecipient
		if c.Local == "" {
			c.Local = "MAILER-DAEMON"
		}
	}
	if c.Domain == "" {
		c.Domain = o.MyHostname
	}
	return c
}
