package policy

import (
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// localRecipientMaps returns the reject_unlisted_recipient check for the
// local domain class from local_recipient_maps, or nil when the parameter
// is empty: Postfix then accepts every local part.
func (p *Policy) localRecipientMaps(cfg *config.Config) (func(addr string) (bool, error), error) {
	specs, err := cfg.List("local_recipient_maps")
	if err != nil || len(specs) == 0 {
		return nil, err
	}
	return func(addr string) (bool, error) {
		for _, key := range localKeys(addr, p.delimiter) {
			for _, spec := range specs {
				t, err := p.open(spec)
				if err != nil {
					return false, err
				}
				if _, ok, err := t.Lookup(key); err != nil || ok {
					return ok, err
				}
			}
		}
		return false, nil
	}, nil
}

// localKeys are the keys Postfix's mail_addr_find tries for an address in
// a local domain, each against every table before the next: the address,
// without its extension, the bare local part (unix:passwd.byname finds
// only this), without its extension, and the catch-all "@domain". Keys
// are folded to lower case.
func localKeys(addr, delim string) []string {
	addr = strings.ToLower(addr)
	local, domain := splitAddr(addr)
	keys := []string{addr}
	bare := local
	if i := strings.IndexAny(local, delim); delim != "" && i > 0 && !unsplittable(local) {
		bare = local[:i]
		keys = append(keys, bare+"@"+domain)
	}
	keys = append(keys, local)
	if bare != local {
		keys = append(keys, bare)
	}
	return append(keys, "@"+domain)
}

// unsplittable local parts keep their delimiter characters (Postfix's
// split_addr with owner_request_special = yes).
func unsplittable(local string) bool {
	switch local {
	case "postmaster", "mailer-daemon", "double-bounce":
		return true
	}
	return strings.HasPrefix(local, "owner-") || strings.HasSuffix(local, "-request")
}
