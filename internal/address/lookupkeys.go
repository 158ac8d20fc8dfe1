package address

import "strings"

// LookupKey is one key of an address lookup in a Postfix table
// (virtual_alias_maps, canonical_maps, the recipient tables), as
// Postfix's mail_addr_find tries them.
type LookupKey struct {
	Key string
	// Ext is the address extension the key leaves out ("+foo" of
	// user+foo@domain for the key user@domain), "" when the key has the
	// whole local part: a match then propagates Ext to the result when
	// propagate_unmatched_extensions says so.
	Ext string
	// Partial: not the complete address; pattern tables (regexp, pcre)
	// are queried with the complete address only.
	Partial bool
}

// LookupKeys are the keys Postfix's mail_addr_find tries for addr, in
// order, each against every table before the next: user+ext@domain,
// user@domain; then, when local (the domain is $myorigin, in
// $mydestination or an address literal of this host), user+ext and
// user; last the catch-all @domain. delim is recipient_delimiter: any one
// of its characters starts the extension. Keys are lower case.
func LookupKeys(addr, delim string, local bool) []LookupKey {
	addr = strings.ToLower(addr)
	lp, domain := addr, ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		lp, domain = addr[:i], addr[i+1:]
	}
	bare, ext := SplitExtension(lp, delim)
	keys := []LookupKey{{Key: addr}}
	if ext != "" && domain != "" {
		keys = append(keys, LookupKey{Key: bare + "@" + domain, Ext: ext, Partial: true})
	}
	if local || domain == "" {
		if domain != "" {
			keys = append(keys, LookupKey{Key: lp, Partial: true})
		}
		if ext != "" {
			keys = append(keys, LookupKey{Key: bare, Ext: ext, Partial: true})
		}
	}
	if domain != "" {
		keys = append(keys, LookupKey{Key: "@" + domain, Partial: true})
	}
	return keys
}

// SplitExtension splits a local part at the first of the characters of
// delim (recipient_delimiter): "user", "+foo" for user+foo. A local part
// that starts with a delimiter, or that Postfix never splits (postmaster,
// mailer-daemon, double-bounce, owner-*, *-request: owner_request_special),
// has no extension.
func SplitExtension(local, delim string) (bare, ext string) {
	if delim == "" || Unsplittable(strings.ToLower(local), delim) {
		return local, ""
	}
	if i := strings.IndexAny(local, delim); i > 0 {
		return local[:i], local[i:]
	}
	return local, ""
}

// Unsplittable reports a lower-case local part that keeps its delimiter
// characters, as Postfix's split_addr: postmaster, mailer-daemon and
// double-bounce always; owner-* and *-request (owner_request_special =
// yes) only when "-" is one of the delimiters, and *-request only when
// longer than 8 characters.
func Unsplittable(local, delim string) bool {
	switch local {
	case "postmaster", "mailer-daemon", "double-bounce":
		return true
	}
	return strings.Contains(delim, "-") &&
		(strings.HasPrefix(local, "owner-") || len(local) > 8 && strings.HasSuffix(local, "-request"))
}
