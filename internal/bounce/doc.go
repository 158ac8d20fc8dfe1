// Package bounce composes delivery status notifications (RFC 3464) the
// way Postfix's bounce(8) does: non-delivery ("Undelivered Mail Returned
// to Sender"), delay warnings ("Delayed Mail (still being retried)") and
// success reports ("Successful Mail Delivery Report"), each a
// multipart/report with a text/plain explanation, a
// message/delivery-status report and the original message or its
// headers. It does no queue I/O: Compose returns the notice's envelope
// and content, and the queue manager enqueues them.
//
// The queue manager, for recipient i of message m that reached a final
// state (or, for delays, waited delay_warning_time):
//
//   - Wanted(kind, env, i, myhostname) says whether the sender gets a
//     notice (NOTIFY; never for the null sender or the double-bounce
//     sender). Recipients of one message and kind go into one notice:
//     Compose(&Params{Kind: kind, Rcpts: wanted, …}).
//   - A failed bounce (env.Sender == "") gets To: DoubleBounce, to
//     2bounce_notice_recipient, only when notify_classes names bounce or
//     2bounce (Postfix's default, "resource, software", does not: the
//     bounce is discarded).
//   - A failed postmaster notice (sender DoubleBounceSender(myhostname))
//     is discarded: "undeliverable postmaster notification discarded".
//   - notify_classes = bounce (delay) adds a PostmasterCopy to
//     bounce_notice_recipient (delay_notice_recipient), reporting on
//     every failed (delayed) recipient whatever its NOTIFY says.
//
// What follows Postfix 3.7.11, measured with a private instance
// (myhostname = mx.example.test; error and retry transports; sendmail and
// sendmail -bs submissions) and testdata/postfix holds the captures:
//
//   - Header order Received, Date, From ("Mail Delivery System
//     <MAILER-DAEMON@host>"), Subject, To, Auto-Submitted (auto-replied;
//     auto-generated for postmaster notices), MIME-Version, Content-Type
//     with boundary "ORIGID.unixtime/host" on a folded line,
//     Content-Transfer-Encoding when 8bit, Message-Id
//     <YYYYMMDDhhmmss.NEWID@host>; dates as "Tue, 24 Nov 2026 21:27:32
//     +0000 (UTC)".
//   - Parts "Notification", "Delivery report" and "Undelivered Message"
//     ("Undelivered Message Headers", or "Message Headers" for success
//     reports); the returned message starts with Return-Path: <sender>.
//   - Failures return the whole message unless RET=HDRS; delay and
//     success notices and postmaster copies return headers only; double
//     bounces return everything. Content over bounce_size_limit (50000)
//     is returned as headers only.
//   - Per-recipient text "<rcpt>: reason" and the Diagnostic-Code and
//     Remote-MTA fields are wrapped at 79 columns, continuation lines
//     indented by 4; without a Diagnostic-Code from the delivery agent it
//     is "X-Postfix; reason" (here X-Postern, from mail_name).
//   - Postmaster notices come from double-bounce@myhostname, have no
//     boilerplate, and subjects "Postmaster Copy: Undelivered Mail" /
//     "Postmaster Warning: Delayed Mail".
//
// Where postern differs, on purpose:
//
//   - Original-Recipient appears only when the client sent ORCPT (RFC
//     3464 section 2.3.1); Postfix always writes one, from the address as
//     received.
//   - A 7-bit message gets a 7-bit notice. Postfix 3.7 with its default
//     smtputf8_enable = yes labels every notice 8bit/utf-8; postern does
//     that only for 8-bit or SMTPUTF8 mail (as Postfix does with
//     smtputf8_enable = no), and masks non-ASCII text to '?' otherwise.
//   - The boundary gets a counter when a line of the returned message
//     starts with it, so that it cannot end a part early.
//   - bounce_size_limit counts the CRLF content postern stores.
package bounce
