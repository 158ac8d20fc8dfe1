// Package straycrlf is Postfix's cleanup_replace_stray_cr_lf (default
// yes; Postfix 3.9, 3.8.5, 3.7.10 and later): every <CR> that is not
// followed by <LF>, and every <LF> that does not follow a <CR>, becomes a
// space before the message is queued.
//
// SMTP allows those bytes only as the <CR><LF> pair. A stray one that
// reached the queue would be sent on to the next hop as it is, where a
// server that ends lines or DATA differently could read text after it as
// new commands: outbound SMTP smuggling, with this server as the
// unwitting relay. Replacing them also makes a signature added later
// (DKIM) independent of how the next server treats such bytes.
//
// Content reaches the queue from the SMTP server (DATA and BDAT, line
// ends already made <CR><LF> by internal/smtpio) and from pickup
// (sendmail, line ends made <CR><LF> by pickup); both hand it on through
// Replace or a Reader just before the queue stores it, so after the
// line-end rules of each input (smtpd_forbid_bare_newline) have decided
// what a line end is. What is left stray is content: "a<CR>b" becomes
// "a b", "x<CR><CR><LF>" becomes "x <CR><LF>", a final lone <CR>
// becomes a space, as Postfix 3.7.11's queue files show for the same
// input. The replacement keeps every byte's position, so sizes do not
// change.
package straycrlf
