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
	if o.plain(a) {
		return a
	}
	return canonical(a, o)
}

// canonical is Canonical without the shortcut for plain addresses.
func canonical(a Address, o ResolveOptions) Address {
	s := a.internal()
	if s == "" {
		s = o.EmptyAddressRecipient
	}
	s = o.canon(s, false)
	c := splitInternal(s)
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

// RewriteOptions reads the main.cf parameters of trivial-rewrite's
// rewriting and resolution through get and getBool (config.Config's Get
// and Bool). IsLocal is left for the caller.
func RewriteOptions(get func(string) (string, error), getBool func(string) (bool, error)) (ResolveOptions, error) {
	var o ResolveOptions
	var err error
	for _, s := range []struct {
		name string
		dst  *string
	}{{"myhostname", &o.MyHostname}, {"myorigin", &o.MyOrigin}, {"mydomain", &o.MyDomain}, {"empty_address_recipient", &o.EmptyAddressRecipient}} {
		if *s.dst, err = get(s.name); err != nil {
			return o, err
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"append_at_myorigin", &o.AppendAtMyOrigin}, {"append_dot_mydomain", &o.AppendDotMyDomain},
		{"allow_percent_hack", &o.AllowPercentHack}, {"swap_bangpath", &o.SwapBangPath},
		{"resolve_dequoted_address", &o.ResolveDequotedAddress}, {"resolve_null_domain", &o.ResolveNullDomain}} {
		if *b.dst, err = getBool(b.name); err != nil {
			return o, err
		}
	}
	return o, nil
}

// plain reports whether rewriting and resolution leave a unchanged, so
// that the common user@domain costs nothing: a domain without a trailing
// dot that append_dot_mydomain would not extend, and a local part that is
// a Dot-string without routing operators.
func (o ResolveOptions) plain(a Address) bool {
	d := a.Domain
	if d == "" || d[len(d)-1] == '.' || a.Local == "" || strings.ContainsAny(a.Local, "@%!") || !is822DotString(a.Local) {
		return false
	}
	return !o.AppendDotMyDomain || strings.ContainsAny(d, ".[")
}
