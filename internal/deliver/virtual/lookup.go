package virtual

import (
	"strings"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/maps"
)

// lookupKeys are the keys an address is looked up with, in order: the
// whole address, without its extension, "@domain" (mail_addr_find() for
// a domain that is not local; the bare local part is looked up only for
// local domains, which this agent does not serve).
func lookupKeys(addr, delim string) []string {
	keys := []string{addr}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return keys
	}
	if bare := stripExtension(addr, at, delim); bare != "" && bare != addr {
		keys = append(keys, bare)
	}
	if at+1 < len(addr) {
		keys = append(keys, addr[at:])
	}
	return keys
}

// stripExtension is addr without the extension of its local part, or ""
// when recipient_delimiter (any of its characters) splits none off.
// Postfix's split_addr() never splits postmaster, mailer-daemon and
// double-bounce, nor owner-* and *-request when "-" is a delimiter.
func stripExtension(addr string, at int, delim string) string {
	bare, ext := address.SplitExtension(addr[:at], delim)
	if ext == "" {
		return ""
	}
	return bare + addr[at:]
}

// find looks addr up in tables with lookupKeys: each key in every table
// before the next key; pattern tables get only the whole address. The
// first table that cannot answer ends the search with its error, as
// Postfix's maps_find().
func find(tables []maps.Table, addr, delim string) (string, bool, error) {
	for k, key := range lookupKeys(addr, delim) {
		for _, t := range tables {
			if k > 0 && maps.IsPattern(t) {
				continue
			}
			v, ok, err := t.Lookup(key)
			if err != nil || ok {
				return v, ok, err
			}
		}
	}
	return "", false, nil
}

// atol is C's atol(): the number at the start of s after blanks, with
// an optional sign; 0 when there is none.
func atol(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var n int64
	for i := 0; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		if n > (1<<62)/10 {
			break // saturate instead of overflowing
		}
		n = n*10 + int64(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}
