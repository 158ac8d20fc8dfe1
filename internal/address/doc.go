// Package address parses SMTP envelope addresses and resolves them the way
// Postfix 3.7 does, so that relay control sees the destination the mail
// will really go to.
//
// An address can name one domain and route to another: user%remote@local,
// remote!user@local and "user@remote"@local all end up at remote when
// local strips its own domain and acts on the operator left in the local
// part. Postfix defends against that by deciding relay permission on the
// resolved address (trivial-rewrite), not on the text after the last '@',
// and by refusing any address whose resolved local part still carries
// '@', '!' or '%'. This package does the same: ParsePath gives the
// address as the client wrote it, Resolve gives the address Postfix would
// deliver to, and ResolveOptions.Local says whether that is this host.
//
// A session handles MAIL FROM and RCPT TO like this:
//
//	o := address.Options{Rcpt: true, Strict: strictRFC821Envelopes}
//	path, params, err := o.Parse(arg, transactionIsSMTPUTF8)
//	r := address.Resolve(path.Addr, resolveOptions)
//	err = o.CheckResolved(r, transactionIsSMTPUTF8) // 501 like smtpd_check_addr
//	own := resolveOptions.Local(r) || virtualOrRelayDomain(r) && !r.Routed()
//	sender := address.Canonical(mailPath.Addr, resolveOptions) // <bob> is bob@$myorigin
//
// Relay control, the recipient tables, the queue file, routing, delivery
// and the log all use the one resolved recipient r (<user> is
// user@$myorigin, user%remote@local is user@remote, where Postfix's queue
// manager delivers it); a sender is queued in its Canonical form (what
// Postfix's cleanup writes); replies name path.Addr as the client wrote it.
//
// and, with every error, writes err.(*address.Error).Reply().
//
// Postfix facts this package follows, measured against Postfix 3.7.11
// with a private instance (mydestination = mail.example.test, localhost;
// inet_interfaces = 127.0.0.1) unless a source file is named:
//
//   - Path syntax errors: MAIL "501 5.1.7 Bad sender address syntax",
//     RCPT "501 5.1.3 Bad recipient address syntax", also for an address
//     that only turns out invalid after resolution ("user@",
//     "u@local..", `"u@a..b"@local`). An empty argument: "501 5.5.4
//     Syntax: MAIL FROM:<address>" / "RCPT TO:<address>".
//   - Non-UTF-8 command: "500 5.5.2 Error: bad UTF-8 syntax"
//     (smtputf8_enable = yes). UTF-8 local part without SMTPUTF8: accepted
//     by default, "553 5.6.7 Must declare SMTPUTF8 to send unicode address"
//     with strict_smtputf8 = yes (we always behave so). UTF-8 domain
//     without SMTPUTF8: 501 (smtpd_check_addr, src/smtpd/smtpd_check.c).
//   - Relay tests (smtpd_relay_restrictions = reject_unauth_destination):
//     user%remote@local, remote!user@local, "user@remote"@local,
//     user@remote@local, @local:user@remote, user%remote@[127.0.0.1],
//     "user%remote"@local, user@remote. all get "554 5.7.1 <...>: Relay
//     access denied"; user@local. and user@[127.0.0.1] are local;
//     user@local.. is 501 5.1.3; a!b!user@local resolves to b!user@a
//     (routed); "@remote:user"@local is local user@local.
//   - ESMTP parameters (smtpd.c mail_cmd, rcpt_cmd): unknown keyword, bad
//     BODY value, BODY=BINARYMIME, SMTPUTF8=x, a keyword of the other
//     command: "555 5.5.4 Unsupported option: <param>"; SIZE not digits:
//     "501 5.5.4 Bad message size syntax", beyond off_t: "552 5.3.4
//     Message size exceeds file system imposed limit"; RET, ENVID, NOTIFY,
//     ORCPT bad or repeated: "501 5.5.4 Bad RET parameter syntax", "...
//     Bad ENVID parameter syntax", "501 5.5.4 Error: Bad NOTIFY parameter
//     syntax", "... Error: Bad ORCPT parameter syntax"; AUTH repeated:
//     "503 5.5.4 Error: multiple AUTH= options" (smtpd_sasl_proto.c).
//     SIZE, BODY and SMTPUTF8 may repeat.
//   - Resolver defaults (postconf -d): allow_percent_hack = yes,
//     swap_bangpath = yes, resolve_dequoted_address = yes,
//     resolve_null_domain = no, resolve_numeric_domain = no,
//     append_at_myorigin = yes, empty_address_recipient = MAILER-DAEMON,
//     strict_rfc821_envelopes = no, strict_smtputf8 = no.
//
// Sources: src/smtpd/smtpd.c (extract_addr), smtpd_token.c,
// smtpd_resolve.c, smtpd_check.c (permit_auth_destination),
// src/trivial-rewrite/resolve.c and rewrite.c, src/global/resolve_local.c
// and quote_822_local.c, src/util/valid_hostname.c (github
// vdukhovni/postfix); RFC 5321 section 4.1.2, RFC 6531, RFC 3461.
package address
