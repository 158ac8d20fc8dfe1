package pipelining

// known are the commands the server implements; only they are checked.
var known = map[string]bool{
	"HELO": true, "EHLO": true, "MAIL": true, "RCPT": true, "DATA": true,
	"BDAT": true, "RSET": true, "NOOP": true, "QUIT": true, "VRFY": true,
}

// groupEnd are the commands that must be the last of a pipelined group
// (RFC 2920 section 3.1, as Postfix applies it).
var groupEnd = map[string]bool{"HELO": true, "EHLO": true, "DATA": true, "NOOP": true, "VRFY": true}

// Known reports whether verb (upper case) is a command the server
// implements.
func Known(verb string) bool { return known[verb] }

// MustBeLast reports whether nothing may follow verb (upper case) before
// the server's reply: any recognised command when PIPELINING was not
// offered (no EHLO yet, or HELO), and the group-ending commands always.
func MustBeLast(verb string, offered bool) bool {
	if !known[verb] {
		return false
	}
	return !offered || groupEnd[verb]
}

// MaxLogged is how many bytes of the unexpected input the log shows.
const MaxLogged = 100

// Reply is what the server answers a violation with when
// smtpd_forbid_unauth_pipelining = yes, before it hangs up.
const Reply = "554 5.5.0 Error: SMTP protocol synchronization"
