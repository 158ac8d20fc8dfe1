// Package sendmail is the sendmail(1) command of Postfix: the command
// line (Parse), reading a message from standard input, recipients from
// the header with -t, and handing the message to the maildrop (Submit),
// from where the daemon's pickup queues it. It needs no privileges and
// no running daemon; see package pickup for the permission model.
//
// Behaviour follows Postfix 3.7's sendmail (measured with its binary on
// a scratch configuration, and its source): getopt without permutation,
// the same option letters (Sendmail's legacy options are accepted and
// ignored), the same diagnostics ("sendmail: fatal: user(uid): No
// recipient addresses found in message header", "sendmail: invalid
// option -- 'Z'" then "usage: sendmail [options]"), -t adding header
// recipients to the command-line ones and preferring the Resent- set,
// leading "From " lines dropped, trailing CRs removed, a lone "." ending
// the input unless -i.
//
// Where postern differs, on purpose:
//
//   - Exit codes. Postfix means sysexits codes (EX_USAGE for a bad
//     command line, EX_DATAERR for bad input…) but its msg_cleanup
//     handler turns every fatal error into EX_TEMPFAIL (75, measured),
//     so that callers retry forever. postern exits with the code meant:
//     64 usage, 65 bad data, 69 not set up, 70 internal error, 71 no
//     login name, 75 temporary (disk, configuration), 77 not allowed.
//   - Bad input fails at once instead of bouncing later: NUL bytes
//     (binary data), an empty message (Postfix queues a message of
//     generated headers), a message over message_size_limit, a header
//     over header_size_limit with -t, addresses pickup would refuse.
//     Nothing is left in the maildrop.
//   - Long lines are accepted, as by Postfix.
//   - -bv (address verification) is not implemented (EX_UNAVAILABLE),
//     nor -XV (VERP: a usage error). A single -v is accepted but sends
//     no delivery report.
package sendmail
