package postscreen

import (
	"bufio"
	"errors"
	"strings"
)

// errTooLong: a command line reached line_length_limit.
var errTooLong = errors.New("command too long")

// readCommand reads one command line as Postfix's postscreen does: a
// line ends with CR LF or with a bare LF (bareLF reports which); a CR
// elsewhere is part of the line. A line that reaches limit bytes without
// its end is errTooLong. The line excludes its ending.
func readCommand(r *bufio.Reader, limit int) (line string, bareLF bool, err error) {
	var b []byte
	cr := false // the last byte was a CR
	for {
		c, err := r.ReadByte()
		if err != nil {
			return string(b), false, err
		}
		// Postfix lets a CR run grow past the limit; postern accepts
		// only the LF that ends the line there, so memory stays bounded.
		if len(b) >= limit && !(cr && c == '\n') {
			return string(b), false, errTooLong
		}
		switch {
		case c == '\n' && cr:
			return string(b[:len(b)-1]), false, nil
		case c == '\n':
			return string(b), true, nil
		}
		b = append(b, c)
		cr = c == '\r'
	}
}

// splitCommand splits a command line as Postfix's mystrtok with a space
// delimiter: leading spaces are skipped, the verb ends at the next
// space, and the rest starts after that one space.
func splitCommand(line string) (verb, rest string) {
	line = strings.TrimLeft(line, " ")
	verb, rest, _ = strings.Cut(line, " ")
	return verb, rest
}

// isHeader reports whether a command has the syntax of a message header
// label ("Subject:", "From:<a>"), as Postfix's is_header: printable
// ASCII up to a colon, with only spaces or tabs between the name and
// the colon.
func isHeader(verb string) bool {
	name, space := 0, false
	for i := 0; i < len(verb); i++ {
		switch c := verb[i]; {
		case c == ':':
			return name > 0
		case c == ' ' || c == '\t':
			if name == 0 {
				return false
			}
			space = true
		case c < ' ' || c >= 0x7f || space:
			return false
		default:
			name++
		}
	}
	return false
}

// printable replaces non-printable bytes with '?', as Postfix's
// printable().
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < ' ' || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

// firstWord is the first space-separated token of s ("" if none).
func firstWord(s string) string {
	w, _ := splitCommand(s)
	return w
}

// extractAddr is the address of a MAIL FROM / RCPT TO argument (the text
// after the colon), unquoted, as Postfix's postscreen takes it: within
// <> up to '>', or a bare word; quotes dropped, backslash escapes
// resolved, a source route dropped.
func extractAddr(s string) string {
	s = strings.TrimLeft(s, " ")
	stop := byte(' ')
	if strings.HasPrefix(s, "<") {
		s, stop = s[1:], '>'
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !quoted && c == stop {
			break
		}
		if c == '"' {
			quoted = !quoted
			continue
		}
		if c == '\\' {
			if i++; i >= len(s) {
				break
			}
			c = s[i]
		}
		b.WriteByte(c)
	}
	a := b.String()
	if strings.HasPrefix(a, "@") {
		if _, after, ok := strings.Cut(a, ":"); ok {
			a = after
		}
	}
	return a
}
