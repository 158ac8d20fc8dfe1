// Package smtpd is postern's SMTP server: one ESMTP session per
// connection, written for this project so that replies, the timing of
// rejections and pipelining match Postfix's smtpd exactly. Input goes
// through internal/smtpio's strict reader (only <CR><LF>.<CR><LF> ends
// DATA); access decisions come from internal/policy; accepted messages
// go to a queue.Queue (in one piece up to 64 KiB, streamed beyond), and
// 250 is sent only once it has stored them.
package smtpd
