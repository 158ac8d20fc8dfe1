package maps

import (
	"net/netip"
	"strings"

	"github.com/postern-mta/postern/internal/address"
)

// Partial-key lookups for access(5) tables, as smtpd_check.c's
// check_mail_access(), check_domain_access(), check_addr_access() and
// check_namadr_access() do them in Postfix 3.7.
//
// Each helper returns the first key that is found, whatever its value:
// a "DUNNO" result also ends the search, which is what makes DUNNO stop
// less specific keys. Only the first key of a search goes to pattern
// tables (cidr, regexp, pcre); the partial keys that follow go to
// exact-key tables only (Postfix's DICT_FLAG_FIXED filter in maps_find).
// Empty keys are never looked up.
//
// parentMatch is true when parent_domain_matches_subdomains contains
// smtpd_access_maps (it does by default: measured with postconf 3.7.11):
// then "example.com" matches "host.example.com"; otherwise only
// ".example.com" does.

// lookupStep looks up one key of a search; full marks the first key.
func lookupStep(t Table, key string, full bool) (string, bool, error) {
	if key == "" || !full && IsPattern(t) {
		return "", false, nil
	}
	return t.Lookup(key)
}

// LookupDomain searches a host or domain name (HELO name, client
// hostname, ETRN domain): "host.example.com", then "example.com" and
// "com" (or ".example.com" and ".com" without parentMatch). An IP
// address is only looked up as a whole. A trailing dot is kept, as in
// Postfix: "host.example.com." is followed by "example.com." and "com.".
func LookupDomain(t Table, domain string, parentMatch bool) (string, bool, error) {
	return lookupDomain(t, domain, true, parentMatch)
}

func lookupDomain(t Table, domain string, full, parentMatch bool) (string, bool, error) {
	numeric := isHostAddr(domain)
	for name := domain; name != ""; {
		if v, ok, err := lookupStep(t, name, full); err != nil || ok {
			return v, ok, err
		}
		full = false
		if numeric {
			break
		}
		// Postfix: next = strchr(name + 1, '.'), skipping the dot when
		// parent domains match their subdomains.
		i := strings.IndexByte(name[1:], '.')
		if i < 0 {
			break
		}
		name = name[i+1:]
		if parentMatch {
			name = name[1:]
		}
	}
	return "", false, nil
}

// isHostAddr is Postfix's valid_hostaddr(): an IPv4 or IPv6 address.
func isHostAddr(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}

// LookupAddr searches an IP address and its parent networks:
// "192.0.2.7", "192.0.2", "192.0", "192"; for IPv6 the text is cut at
// its last ":" each time: "2001:db8::7", "2001:db8:", "2001:db8",
// "2001". Pass the address as Postfix prints it (compressed, lower case;
// IPv4-mapped addresses already converted to IPv4).
func LookupAddr(t Table, addr string) (string, bool, error) {
	delim := byte('.')
	if strings.IndexByte(addr, ':') >= 0 {
		delim = ':'
	}
	for full := true; ; full = false {
		if v, ok, err := lookupStep(t, addr, full); err != nil || ok {
			return v, ok, err
		}
		i := strings.LastIndexByte(addr, delim)
		if i < 0 {
			return "", false, nil
		}
		addr = addr[:i]
	}
}

// LookupClient searches the client hostname and its parent domains, then
// the client address and its parent networks (check_client_access). The
// hostname is looked up even when it is "unknown", as Postfix does; a
// domain match, DUNNO included, ends the search before the address.
func LookupClient(t Table, ip, hostname string, parentMatch bool) (string, bool, error) {
	if v, ok, err := LookupDomain(t, hostname, parentMatch); err != nil || ok {
		return v, ok, err
	}
	return LookupAddr(t, ip)
}

// LookupAddress searches an email address as check_sender_access and
// check_recipient_access do, for user+ext@example.com with delim "+":
//
//	user+ext@example.com   the full address (pattern tables too)
//	user@example.com       only with a delimiter and an extension
//	example.com, com       the domain and its parents (".com" without parentMatch)
//	user+ext@
//	user@                  only with a delimiter and an extension
//
// delim is recipient_delimiter (a set of characters; "" disables the
// extension forms). The extension starts at the first delimiter character
// of the local part; postmaster, mailer-daemon, double-bounce and, when
// "-" is a delimiter, owner-* and *-request are never split, as in
// Postfix's split_addr() with owner_request_special = yes.
//
// addr must be fully qualified, as after Postfix's address rewriting; an
// address without "@" finds nothing (Postfix logs "no @domain"). The null
// sender is not handled here: Postfix looks up smtpd_null_access_lookup_key
// ("<>") as a plain key instead.
func LookupAddress(t Table, addr, delim string) (string, bool, error) {
	return LookupAddressParent(t, addr, delim, true)
}

// LookupAddressParent is LookupAddress with an explicit parentMatch.
func LookupAddressParent(t Table, addr, delim string, parentMatch bool) (string, bool, error) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", false, nil
	}
	bare := stripExtension(addr, at, delim)
	steps := []string{addr, bare}
	for i, k := range steps {
		if v, ok, err := lookupStep(t, k, i == 0); err != nil || ok {
			return v, ok, err
		}
	}
	if v, ok, err := lookupDomain(t, addr[at+1:], false, parentMatch); err != nil || ok {
		return v, ok, err
	}
	bareAt := ""
	if bare != "" {
		bareAt = bare[:strings.LastIndexByte(bare, '@')+1]
	}
	for _, k := range []string{addr[:at+1], bareAt} {
		if v, ok, err := lookupStep(t, k, false); err != nil || ok {
			return v, ok, err
		}
	}
	return "", false, nil
}

// stripExtension is Postfix's strip_addr(): addr without the extension
// of its local part, or "" when there is no extension to strip.
func stripExtension(addr string, at int, delim string) string {
	bare, ext := address.SplitExtension(addr[:at], delim)
	if ext == "" {
		return ""
	}
	return bare + addr[at:]
}
