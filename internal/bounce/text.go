package bounce

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The human-readable texts of Postfix 3.7's built-in bounce templates
// (`postconf -b`, src/bounce/bounce_templates.c). They do not name the
// mail system ("This is the mail system at host …", "The mail system"),
// so mail_name has nowhere to go in them; it appears in the X-…-Queue-ID,
// X-…-Sender and Diagnostic-Code fields, as Postfix's does.
const (
	failureText = `This is the mail system at host %[1]s.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system
`
	delayText = `This is the mail system at host %[1]s.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than %[2]d hour(s).
It will be retried until it is %[3]d day(s) old.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system
`
	successText = `This is the mail system at host %[1]s.

Your message was successfully delivered to the destination(s)
listed below. If the message was delivered to mailbox you will
receive no further notifications. Otherwise you may still receive
notifications of mail delivery errors from other systems.

                   The mail system
`
)

// template is what differs between the kinds of notice.
type template struct {
	subject, postmasterSubject string
	text                       string // format: host, delay hours, lifetime days
	undelivered                bool   // "Undelivered Message"
	action, status             string // defaults when the status has none
}

var templates = map[Kind]template{
	Failure: {"Undelivered Mail Returned to Sender", "Postmaster Copy: Undelivered Mail", failureText, true, "failed", "5.0.0"},
	Delay:   {"Delayed Mail (still being retried)", "Postmaster Warning: Delayed Mail", delayText, true, "delayed", "4.0.0"},
	Success: {"Successful Mail Delivery Report", "", successText, false, "delivered", "2.0.0"},
}

// mailDate is Postfix's mail_date(): "Tue, 24 Nov 2026 21:27:32 +0000 (UTC)".
func mailDate(t time.Time) string { return t.Format("Mon, 2 Jan 2006 15:04:05 -0700 (MST)") }

// Wrapping of the per-recipient lines, as Postfix's bounce_print_wrap().
const (
	wrapWidth  = 79
	wrapIndent = 4
)

// wrap breaks s at blanks into lines of at most width bytes (a longer word
// stays whole), continuation lines indented by indent, the way Postfix's
// line_wrap() does, and joins them with CRLF. Continuation lines start
// with blanks, so a wrapped header field stays one folded field.
func wrap(s string, width, indent int) string {
	var out []string
	start, limit, pad := 0, width, ""
	for i := 0; i < len(s); {
		end := i + strings.IndexAny(s[i:], " \t")
		if end < i {
			end = len(s)
		}
		if i > start && end-start > limit {
			out = append(out, pad+strings.TrimRight(s[start:i], " \t"))
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			if pad == "" {
				pad, limit = strings.Repeat(" ", indent), width-indent
			}
			start = i
			continue
		}
		i = end + 1
	}
	out = append(out, pad+strings.TrimRight(s[start:], " \t"))
	return strings.Join(out, "\r\n")
}

// mask makes untrusted text safe for one line of a notice: control
// characters (CR and LF above all, which could forge header fields or
// MIME boundaries) and bytes that are not UTF-8 become '?', like
// Postfix's printable(); non-ASCII characters too unless utf8 allows them.
func mask(s string, utf8OK bool) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			b.WriteByte('?')
		case r < 0x20 && r != '\t', r == 0x7f, r >= 0x80 && r < 0xa0:
			b.WriteByte('?')
		case r >= 0x80 && !utf8OK:
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// addressType is the RFC 3464 address type of addr: "utf-8" for a
// non-ASCII address of an SMTPUTF8 message (RFC 6533), else "rfc822".
func addressType(addr string, smtputf8 bool) string {
	if smtputf8 && !isASCII(addr) {
		return "utf-8"
	}
	return "rfc822"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// xToken is mail_name as the atom in "X-Postern-Queue-ID" and
// "Diagnostic-Code: X-Postern; …": RFC 822 specials and blanks become
// '-' (Postfix's translit), and the first letter is upper case so that
// the default mail_name "postern" reads like Postfix's "X-Postfix".
func xToken(mailName string) string {
	if mailName == "" {
		mailName = "postern"
	}
	b := []byte(mask(mailName, false))
	for i, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\".[]", c) >= 0 {
			b[i] = '-'
		}
	}
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}

// qualify appends @hostname to an address without a domain, as Postfix's
// cleanup does with append_at_myorigin (myorigin defaults to myhostname).
func qualify(addr, hostname string) string {
	if addr == "" || strings.Contains(addr, "@") {
		return addr
	}
	return addr + "@" + hostname
}

// hoursDays are the $delay_warning_time_hours and
// $maximal_queue_lifetime_days of the delay template: whole units,
// rounded down, as Postfix computes them.
func hoursDays(delayWarning, lifetime time.Duration) (int64, int64) {
	return int64(delayWarning / time.Hour), int64(lifetime / (24 * time.Hour))
}

// templateText is the boilerplate of kind k with CRLF line ends.
func templateText(k Kind, host string, delayWarning, lifetime time.Duration) string {
	h, d := hoursDays(delayWarning, lifetime)
	return strings.ReplaceAll(fmt.Sprintf(templates[k].text, host, h, d), "\n", "\r\n")
}
