// Package milter is the MTA side of the Sendmail milter protocol,
// version 6, as Postfix's smtpd and cleanup speak it to mail filters
// such as OpenDKIM and rspamd.
//
// What exists (step one of issue 15, section 3):
//
//   - The wire codec (codec.go): every packet is a 4-byte big-endian
//     length, one command byte and the data; ReadPacket refuses a
//     length of zero or above a bound (MaxPacket, DefaultMaxPacket) and
//     a truncated packet. Encoders build every MTA-to-milter command:
//     OPTNEG, MACRO, CONNECT (family, port, address), HELO, MAIL, RCPT,
//     DATA, HEADER, EOH, BODY (chunks of at most BodyChunk bytes),
//     BODYEOB, ABORT, QUIT, QUIT_NC and UNKNOWN.
//   - The reply decoder (reply.go): Decode turns one milter-to-MTA
//     packet into a Reply: a verdict (accept, continue, reject,
//     tempfail, discard, replycode, skip, shutdown, connection
//     failure), progress, or a modification allowed at end of body
//     (add/change/insert header, add/delete recipient, add recipient
//     with ESMTP arguments, change sender, replace body, quarantine).
//   - Option negotiation (negotiate.go), with Postfix's rules: postern
//     offers protocol version 6, every action flag and every v6
//     protocol step flag; a milter that answers a higher version or
//     asks for an action not offered is a protocol error; protocol
//     flags beyond the offer are tolerated (Postfix only logs them);
//     a milter of version 2, 3 or 4 is never sent the events its
//     version lacks; the milter's optional macro lists are returned.
//   - Session (session.go): one conversation over a net.Conn, a method
//     per SMTP stage that returns the milter's Verdict, honouring the
//     negotiated "no event" and "no reply" flags, SMFIR_SKIP for body
//     chunks, progress replies (which restart the timer), and at end
//     of body the modifications (as Replies). Each command runs under
//     a deadline: ConnectTimeout for dialing, CommandTimeout for
//     negotiation and the envelope, ContentTimeout for the message,
//     all cut short by the context. Errors are values: a
//     protocol violation, I/O error or timeout poisons the Session
//     (every later call returns the same error) and the caller maps
//     it to milter_default_action.
//
// What comes next: wiring into smtpd (smtpd_milters per service with
// "-o" in master.cf) and cleanup (non_smtpd_milters, applying the
// modifications to the queue file, quarantine to the hold queue);
// Postfix's default milter_*_macros sets and milter_macro_daemon_name;
// the milter_* parameters (protocol, default_action, the three
// timeouts) in the config registry, which until then stay refused;
// "inet:" and "unix:" endpoint parsing; and interop tests against
// OpenDKIM and rspamd.
package milter
