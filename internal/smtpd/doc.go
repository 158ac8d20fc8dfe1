// Package smtpd is postern's SMTP server: one ESMTP session per
// connection, written for this project so that replies, the timing of
// rejections and pipelining match Postfix's smtpd exactly. Input goes
// through internal/smtpio's strict reader (only <CR><LF>.<CR><LF> ends
// DATA); access decisions come from internal/policy; accepted messages
// go to a queue.Queue (in one piece up to 64 KiB, streamed beyond), and
// 250 is sent only once it has stored them. With content stages
// (Server.Checks, the session's milters, Server.Sign: content.go) the
// content is held in a cleanup.Spool instead and, at the end of data,
// goes through internal/cleanup's Run to the queue; a stage's reject,
// discard or hold is answered and logged as Postfix's milter verdicts.
//
// Milters (milter.go, Server.Milters: smtpd_milters) get the session's
// events through a milter.Chain: connect before the greeting, HELO,
// MAIL, RCPT, DATA, unknown commands, abort on RSET and at the end of
// a transaction, QUIT at the end; their replies, hold and discard are
// answered and logged as Postfix's smtpd does (milter-reject: RCPT
// from …), and at end of data they run as the milter content stage.
//
// Limits within a session are Postfix's: the per-client count and rates
// of internal/anvil (anvil.go: connections before the greeting, MAIL,
// RCPT, new TLS sessions and AUTH), the error
// counter with smtpd_soft/hard_error_limit and smtpd_junk_command_limit,
// and read deadlines per command and, for content, smtpd_min_data_rate
// (deadline.go). The master picks Server.Stress, the configuration read
// with stress = yes, for sessions begun at the service's process limit.
//
// TLS (starttls.go) follows Postfix's smtpd: smtpd_tls_security_level
// (may offers STARTTLS, encrypt answers 530 to the commands that need
// it), STARTTLS that drops pipelined plaintext and restarts the session,
// smtpd_tls_wrappermode for port 465, client certificate facts for the
// restrictions (internal/policy), and the certificates themselves from
// Server.TLS (internal/tlsconf).
//
// SMTP AUTH (auth.go) speaks RFC 4954 to the client and asks a
// sasl.Authenticator (Server.SASL) to check the credentials, with
// Postfix's replies and log lines; a failed AUTH is an error like any
// other, and smtpd_client_auth_rate_limit is counted by the anvil.
package smtpd
