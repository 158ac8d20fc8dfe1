// Package smtp is postern's smtp delivery agent, Postfix's smtp(8): it
// delivers a message to the next hop the router chose — a domain (MX
// lookup), "[host]:port" or "[addr]" (no MX lookup), "host:port" (MX
// lookup of host) or a list of them — over SMTP, and returns one
// deliver.Result per recipient.
//
// What it does, as Postfix does it (src/smtp/smtp_connect.c, smtp_addr.c,
// smtp_proto.c, smtp_trouble.c, smtp_sasl_*.c):
//
//   - MX lookup with random order among equal preferences, A/AAAA when
//     the domain has no MX (as inet_protocols allows), a null MX
//     (RFC 7505) bounces at once with 5.1.0, own addresses among the MX
//     hosts truncate the list ("mail for X loops back to myself");
//     at most smtp_mx_address_limit addresses and smtp_mx_session_limit
//     sessions per next hop; a connection failure, a 4xx (or 5xx) greeting,
//     a TLS failure or a 4xx reply sends the recipients concerned on to the
//     next address.
//   - Session: greeting, EHLO (HELO when refused), STARTTLS per
//     smtp_tls_security_level, AUTH PLAIN/LOGIN to a smarthost, then MAIL
//     FROM (SIZE, BODY=8BITMIME, SMTPUTF8, RET, ENVID), RCPT TO (NOTIFY,
//     ORCPT) and DATA, pipelined when the server offers PIPELINING, with
//     Postfix's timeout for each stage.
//   - Results: 2xx sent ("250 2.0.0 Ok: queued as X"), 4xx and network
//     trouble deferred, 5xx bounced with the remote reply ("host
//     mx.example.net[192.0.2.1] said: 550 5.1.1 … (in reply to RCPT TO
//     command)"), with relay=host[addr]:port, or none before a connection.
//   - Idle sessions are cached per next hop for a few seconds and reused
//     (after an RSET probe) by the next message to the same destination.
//
// With Config.LMTP set it is the lmtp agent, as Postfix's lmtp(8) is
// smtp(8) with smtp_mode off (see internal/deliver/lmtp): "unix:" and
// "inet:" next hops without MX lookup, LHLO, one reply per recipient
// after the end of data.
//
// The client is written here on net/textproto-level primitives rather than
// on github.com/emersion/go-smtp: that client sends every command
// synchronously (no PIPELINING), adds BODY=8BITMIME whenever the server
// offers it, folds the greeting into Hello (so a 4xx greeting cannot be
// told from a refused EHLO), re-sends EHLO after every RSET and has one
// timeout for all commands.
package smtp
