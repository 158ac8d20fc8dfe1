package policy

import (
	"fmt"
	"strings"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/config"
)

// TableError is a lookup table that could not answer, so the SMTP server
// answers "451 4.3.0 <addr>: Temporary lookup failure". Warnings says
// which table failed and why, in Postfix's words.
type TableError struct {
	Table string // "type:name", as configured
	Key   string // the key being looked up
	Open  bool   // the table could not be opened (not built, unreadable)
	Err   error
}

func (e *TableError) Error() string {
	if e.Open {
		return fmt.Sprintf("%s is unavailable. %v", e.Table, e.Err)
	}
	return fmt.Sprintf("%s lookup error for \"%s\": %v", e.Table, e.Key, e.Err)
}

func (e *TableError) Unwrap() error { return e.Err }

// Warnings are the log lines: the reason (Postfix's dict_surrogate
// "hash:/etc/aliases is unavailable. open database /etc/aliases.db: No
// such file or directory" when the table cannot be opened), then maps_find's
// `hash:/etc/aliases lookup error for "user@example.com"`.
func (e *TableError) Warnings() []string {
	reason := fmt.Sprintf("%s: %v", e.Table, e.Err)
	if e.Open {
		reason = e.Error()
	}
	return []string{reason, fmt.Sprintf("%s lookup error for \"%s\"", e.Table, e.Key)}
}

// localRecipientMaps returns the reject_unlisted_recipient check for the
// local domain class from local_recipient_maps, or nil when the parameter
// is empty: Postfix then accepts every local part. Its errors are
// *TableError.
func (p *Policy) localRecipientMaps(cfg *config.Config) (func(addr string) (bool, error), error) {
	specs, err := cfg.List("local_recipient_maps")
	if err != nil || len(specs) == 0 {
		return nil, err
	}
	return func(addr string) (bool, error) {
		return p.find(specs, localKeys(addr, p.delimiter))
	}, nil
}

// absorbed reports whether a local part in a local domain is accepted
// without a local_recipient_maps lookup: postmaster (RFC 5321 section
// 4.5.1) and the MAILER-DAEMON and double_bounce_sender addresses that
// bounces come from (Postfix's check_rcpt_maps). The comparison ignores
// case and does not strip an address extension.
func (p *Policy) absorbed(local string) bool {
	return strings.EqualFold(local, "postmaster") || strings.EqualFold(local, "MAILER-DAEMON") ||
		strings.EqualFold(local, p.doubleBounce)
}

// localKeys are the keys Postfix's mail_addr_find tries for an address in
// a local domain, each against every table before the next: the address,
// without its extension, the bare local part (unix:passwd.byname finds
// only this), without its extension, and the catch-all "@domain". Keys
// are folded to lower case.
func localKeys(addr, delim string) []string { return lookupKeys(addr, delim, true) }

// lookupKeys are address.LookupKeys as strings.
func lookupKeys(addr, delim string, local bool) []string {
	var keys []string
	for _, k := range address.LookupKeys(addr, delim, local) {
		keys = append(keys, k.Key)
	}
	return keys
}

// unsplittable local parts keep their delimiter characters (Postfix's
// split_addr with owner_request_special = yes).
func unsplittable(local, delim string) bool { return address.Unsplittable(local, delim) }
