package address

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a refusal with the SMTP reply Postfix 3.7 gives for it. The
// session writes Reply() verbatim, so the text is exactly Postfix's
// (measured against 3.7.11 unless a comment says otherwise).
type Error struct {
	Code   int    // 501, 553, 555, ...
	Status string // enhanced status code, 5.1.7
	Text   string // "Bad sender address syntax"
}

// Reply is the complete reply line without CRLF.
func (e *Error) Reply() string { return fmt.Sprintf("%d %s %s", e.Code, e.Status, e.Text) }

func (e *Error) Error() string { return e.Reply() }

func newError(code int, status, text string) *Error {
	return &Error{Code: code, Status: status, Text: text}
}

// Replies for path syntax. smtpd uses one text per command whatever the
// defect: extract_addr() and the resolver's RESOLVE_FLAG_ERROR both end in
// these (src/smtpd/smtpd.c mail_cmd, rcpt_cmd).
var (
	errBadSender    = newError(501, "5.1.7", "Bad sender address syntax")
	errBadRecipient = newError(501, "5.1.3", "Bad recipient address syntax")
	errMailSyntax   = newError(501, "5.5.4", "Syntax: MAIL FROM:<address>")
	errRcptSyntax   = newError(501, "5.5.4", "Syntax: RCPT TO:<address>")
	// The whole command line is refused when it is not UTF-8 and
	// smtputf8_enable = yes (the default).
	errBadUTF8 = newError(500, "5.5.2", "Error: bad UTF-8 syntax")
	// Postfix gives this only with strict_smtputf8 = yes; by default it
	// lets a UTF-8 local part through without SMTPUTF8. We always insist.
	ErrNeedSMTPUTF8 = newError(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address")
)

// Replies for ESMTP parameters (smtpd.c mail_cmd / rcpt_cmd).
var (
	errBadSize      = newError(501, "5.5.4", "Bad message size syntax")
	errSizeOverflow = newError(552, "5.3.4", "Message size exceeds file system imposed limit")
	errBadRet       = newError(501, "5.5.4", "Bad RET parameter syntax")
	errBadEnvid     = newError(501, "5.5.4", "Bad ENVID parameter syntax")
	errBadNotify    = newError(501, "5.5.4", "Error: Bad NOTIFY parameter syntax")
	errBadOrcpt     = newError(501, "5.5.4", "Error: Bad ORCPT parameter syntax")
	errMultipleAuth = newError(503, "5.5.4", "Error: multiple AUTH= options")
)

// unsupported is smtpd's catch-all for a parameter it does not know or
// whose value it does not accept (BODY=BINARYMIME, SMTPUTF8=x, NOTIFY on
// MAIL). Postfix echoes the parameter raw, control characters included;
// we print them as '?' like Postfix's printable() so that a client cannot
// put bytes of its choice into our reply.
func unsupported(param string) *Error {
	return newError(555, "5.5.4", "Unsupported option: "+printable(param))
}

func printable(s string) string {
	if !strings.ContainsFunc(s, isControl) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || isControl(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isControl covers C0, DEL and C1: none of them may appear in an address,
// whatever RFC 6531 allows, because they end up in logs, headers and
// queue files. U+2028/U+2029 break lines in some viewers, so they go too.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029
}

func syntaxError(rcpt bool) *Error {
	if rcpt {
		return errBadRecipient
	}
	return errBadSender
}
