// Package smtpio is the SMTP server's input layer: command lines, DATA
// content and BDAT chunks, read from the connection with hard bounds and
// one strict rule for where a message ends. It exists because SMTP
// smuggling lives exactly here: if two servers disagree on where DATA
// ends, text after a fake end-of-data is taken as new commands. The
// standard library's net/textproto is not used: its DotReader also ends
// DATA at <LF>.<LF> and <LF>.<CR><LF>.
//
// # Line ends and end of data
//
// RFC 5321 2.3.8 allows only <CR><LF> as a line end, and 4.1.1.4 says
// <LF>.<LF> must not be taken as the end of mail data. Like Postfix, we
// still accept <LF> alone as a line end in most modes, but the data ends
// only at a line "." that ends in <CR><LF> and follows a <CR><LF> line
// end (that of the previous line, or of the DATA command itself when the
// message is empty). So "<LF>.<LF>", "<LF>.<CR><LF>", "<CR><LF>.<LF>",
// "<CR>.<CR>", "<CR><LF>.<CR>" and "abc.<CR><LF>" never end the data.
// A "." line that does not end the data is kept as it is: RFC 5321
// 4.5.2 removes a leading period only when "there are other characters
// on the line". Other lines that start with "." lose that one period.
//
// A <CR> not followed by <LF> is never a line end. It is content in
// Normalize and Allow mode, counted in Stats; in Reject mode ReadData
// and ReadChunk report it as ErrBareCR. ReadCommand leaves it in the
// line (the session rejects it as bad syntax).
//
// # Postfix facts this mirrors (Postfix 3.9)
//
// smtpd_forbid_bare_newline (postconf(5), proto/postconf.proto):
// "normalize" (the 3.9 default) requires the standard end-of-data
// <CR><LF>.<CR><LF> and otherwise treats a line ending in <LF> as if it
// ended in <CR><LF>; "note" is the same plus logging; "yes" became an
// alias for "normalize" in 3.9 and 3.8.5 (in 3.8.4 it meant reject);
// "reject" rejects a command or content with a bare <LF> using
// smtpd_forbid_bare_newline_reject_code (default 550, 521 to hang up),
// and applies to BDAT content too; "no" is the old behaviour. Clients in
// smtpd_forbid_bare_newline_exclusions get the old behaviour (Allow):
// Postfix turns detection off for them. ParseBareNewline maps the names.
//
// global/smtp_stream.c (smtp_get): <LF> ends every record. With
// detection on, exactly one <CR> before the <LF> belongs to the line end
// and "abc<CR><CR><LF>" keeps "abc<CR>"; with detection off ("no") all
// <CR>s before the <LF> go. A <CR> anywhere else is left alone: smtpd
// never rejects a bare <CR> (the cleanup daemon later replaces stray
// <CR> and <LF> with a space, cleanup_replace_stray_cr_lf; postern's
// smtpd does the same with internal/straycrlf before the queue stores
// what ReadData and ReadChunk wrote). Our ErrBareCR in Reject mode is
// therefore stricter than Postfix.
//
// Long content lines: smtpd reads content in pieces of line_length_limit
// (2048) bytes and stores the rest of a longer line as continuation
// records; it never rejects or splits the line itself, and a "." is only
// special at the start of a real line. ReadData streams lines of any
// length unchanged and looks for "." only at a line start; folding lines
// over 998 bytes is a delivery-side matter (smtp_line_length_limit).
// Command lines: smtpd reads at most line_length_limit bytes, skips the
// rest of the line and answers "500 5.5.2 Error: line too long"
// (ErrLineTooLong here, with the limit a parameter).
//
// Reject in DATA and BDAT: Postfix 3.9 notes the bare <LF>, reads on to
// the real end of the content and then replies with the reject code, so
// with 550 the session continues. ReadData and ReadChunk do the same:
// the error comes once the content has been consumed.
package smtpio
