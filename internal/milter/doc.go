// Package milter is the MTA side of the Sendmail milter protocol,
// version 6, as Postfix's smtpd and cleanup speak it to mail filters
// such as OpenDKIM and rspamd.
//
// The layers:
//
//   - The wire codec (codec.go): every packet is a 4-byte big-endian
//     length, one command byte and the data; ReadPacket refuses a
//     length of zero or above a bound (MaxPacket, DefaultMaxPacket) and
//     a truncated packet. Encoders build every MTA-to-milter command:
//     OPTNEG, MACRO, CONNECT (family, port, address), HELO, MAIL, RCPT,
//     DATA, HEADER, EOH, BODY (chunks of at most BodyChunk bytes),
//     BODYEOB, ABORT, QUIT, QUIT_NC and UNKNOWN (and EncodeReply, the
//     milter's side, for test milters).
//   - The reply decoder (reply.go): Decode turns one milter-to-MTA
//     packet into a Reply: a verdict (accept, continue, reject,
//     tempfail, discard, replycode, skip, shutdown, connection
//     failure), progress, or a modification allowed at end of body
//     (add/change/insert header, add/delete recipient, add recipient
//     with ESMTP arguments, change sender, replace body, quarantine).
//   - Option negotiation (negotiate.go), with Postfix's rules: a milter
//     that answers a higher version or asks for an action not offered
//     is a protocol error; protocol flags beyond the offer are
//     tolerated; a milter of version 2, 3 or 4 is never sent the events
//     its version lacks; the milter's optional macro lists are returned.
//   - Session (session.go): one conversation over a net.Conn, a method
//     per SMTP stage that returns the milter's Verdict, honouring the
//     negotiated "no event" and "no reply" flags, SMFIR_SKIP, progress
//     replies (which restart the timer), quarantine at any event, and
//     at end of body each modification handed on as it arrives. Each
//     command runs under a deadline (connect, command, content
//     timeouts) cut short by the context; a protocol violation, I/O
//     error or timeout poisons the Session.
//   - Configuration (spec.go, macros.go): smtpd_milters entries
//     ("inet:host:port", "unix:path" relative to queue_directory, and
//     "{ name, key=value, … }" with per-milter connect_timeout,
//     command_timeout, content_timeout, default_action, protocol),
//     milter_protocol, milter_default_action, Postfix's default
//     milter_*_macros lists and milter_macro_defaults.
//   - Chain (chain.go, message.go): the milters of one SMTP session in
//     order, each dialled at its first event; each event goes to them
//     in turn until one answers, and the answer is Postfix's reply
//     encoding ("" go on, "D" discard, "H" hold, "S" 421, or an SMTP
//     reply, Postfix's fixed texts and a SMFIR_REPLYCODE sanitised
//     line by line with cleanup.ReplyLines). A
//     milter that cannot be reached, times out or breaks the protocol
//     is logged as Postfix logs it and answers milter_default_action
//     for the rest of the session. At end of message (Chain.Message)
//     each milter sees the held cleanup.Message and its edits apply
//     as they arrive (edit.go), within Limits (replacement body spooled
//     and bounded, recipient and header changes counted), addresses
//     rewritten by Chain.Canonical, before the next milter sees it.
//   - LocalStage (stage.go): non_smtpd_milters, the whole dialog for a
//     local submission as a cleanup.Stage, from "localhost
//     [127.0.0.1]" as Postfix's cleanup presents it.
//
// smtpd (internal/smtpd/milter.go) reports the SMTP events and runs
// the end of message as a content stage; internal/master builds both
// from the configuration. Test milters: internal/milter/miltertest
// (a scripted one, and the real OpenDKIM and rspamd).
package milter
