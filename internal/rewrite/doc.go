// Package rewrite is the address rewriting of Postfix's cleanup(8),
// applied to every message before it is queued, whatever its origin
// (SMTP, sendmail, forwarding, bounces): canonical_maps,
// sender_canonical_maps and recipient_canonical_maps (1:1, per address
// class), masquerade_domains, and virtual_alias_maps expansion (1:many,
// recursive, with Postfix's limits). Lookups try the keys of Postfix's
// mail_addr_find (address.LookupKeys), honour recipient_delimiter and
// propagate an unmatched extension as propagate_unmatched_extensions
// says. A table that cannot answer, or an expansion beyond the limits,
// is an *Error: the message is not queued and the sender tries again.
package rewrite
