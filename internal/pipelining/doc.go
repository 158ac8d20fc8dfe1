// Package pipelining holds Postfix's rules for SMTP command pipelining
// (RFC 2920) on the server side: which commands must end a group, how to
// tell that a client has already sent more, and how the unexpected input
// is shown in the log. The SMTP server (internal/smtpd) applies them.
//
// # Postfix facts this mirrors
//
// Checked against Postfix 3.7.11's smtpd (smtpd_forbid_unauth_pipelining
// exists there since 3.7.6, default no; 3.9 makes it yes) by sending
// the byte sequences below to a private instance:
//
//   - Before the greeting, input already waiting is "improper command
//     pipelining after CONNECT". With smtpd_forbid_unauth_pipelining =
//     yes no 220 is sent: the client gets "554 5.5.0 Error: SMTP protocol
//     synchronization" and the connection is closed.
//   - When a command has been read and more input is already waiting, the
//     client pipelined after it. That is allowed only in an ESMTP
//     session (EHLO, where PIPELINING is offered), and there only after
//     commands that need not end a group: HELO, EHLO, DATA, NOOP and VRFY
//     must be last (Postfix's SMTPD_CMD_FLAG_LAST; QUIT, RSET, MAIL,
//     RCPT and BDAT, also BDAT LAST, need not). Before EHLO, or after
//     HELO, any recognised command followed by more input is a violation,
//     QUIT included. Unrecognised commands are never checked.
//   - Every client is checked, also those in mynetworks (the test
//     client was); the parameter has no exclusion list. Postfix's
//     stand-alone smtpd (sendmail -bs by a user) skips the checks.
//   - The check comes before the command runs: with forbid = yes the
//     command gets the 554 instead of its own reply, counts as failed in
//     the disconnect line (helo=0/1), and the session ends.
//   - The first violation of a session is logged, once, as
//     "improper command pipelining after CMD from name[addr]: INPUT",
//     INPUT being at most the first 100 bytes still waiting, escaped as
//     Escape does. The session remembers it: reject_unauth_pipelining
//     (Postfix 2.6 and later) tests that flag, so HELO, MAIL, RCPT and
//     DATA in one write get 503 at DATA even when smtpd_forbid_unauth_-
//     pipelining = no, and so does every later DATA of the session.
//
// "Waiting" means buffered by the server or already in the socket's
// receive queue (Postfix: vstream buffer, or peekfd on the socket);
// Pending looks at the socket without reading from it.
package pipelining
