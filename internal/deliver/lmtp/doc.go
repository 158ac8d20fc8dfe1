// Package lmtp is postern's lmtp delivery agent, Postfix's lmtp(8): it
// hands mail to a final-delivery server such as Dovecot's LMTP service
// (transport_maps "example.com lmtp:unix:private/dovecot-lmtp",
// virtual_transport, mailbox_transport) and returns one deliver.Result
// per recipient.
//
// As in Postfix, where lmtp(8) is the smtp(8) program with smtp_mode off,
// the session engine is the smtp agent's (internal/deliver/smtp with
// Config.LMTP set): this package holds what differs — the lmtp_*
// defaults and the next-hop syntax — so that connection handling,
// PIPELINING, timeouts, connection reuse, STARTTLS and AUTH are one code.
//
// What LMTP changes (src/smtp/smtp_connect.c, smtp_proto.c):
//
//   - Next hops: "unix:path" (a unix-domain socket; a relative path is
//     taken from queue_directory, as Postfix's processes run there), or
//     "inet:host:port", "inet:[addr]:port", "host:port", "[addr]" and
//     lists of them, port lmtp_tcp_port (24) by default. No MX lookup, no
//     mail-loop check, no relayhost or fallback relay.
//   - LHLO (lmtp_lhlo_name, default $myhostname) instead of EHLO, with no
//     HELO fallback.
//   - After the end of data the server gives one reply per accepted
//     recipient, in RCPT order (RFC 2033): each recipient gets its own
//     result — 2xx delivered, 4xx deferred, 5xx bounced — so one full
//     mailbox defers only its owner.
//   - A unix-domain server is this host: relay=myhostname[path] in the
//     maillog, "connect to myhostname[path]: …" when the socket is not
//     there, and lmtp_tls_security_level = may is taken as none on it.
//   - lmtp_connect_timeout 0s means the kernel's connect timeout.
package lmtp
