package dovecot

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLine bounds one protocol line. Dovecot expects lines to fit in
// 16384 bytes (the largest being a mechanism's base64 data); a longer
// one from the server is garbage and breaks the connection.
const maxLine = 65536

var errLineTooLong = errors.New("line too long")

// readLine returns the next LF-terminated line without its LF (and
// without a CR before it). A line over maxLine, or a last line without
// LF, is an error.
func readLine(r *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine+1 {
			return "", errLineTooLong
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			buf = bytes.TrimSuffix(buf[:len(buf)-1], []byte{'\r'})
			return string(buf), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			if len(buf) > 0 && errors.Is(err, io.EOF) {
				return "", errors.New("connection closed in the middle of a line")
			}
			return "", err
		}
	}
}

// line is one parsed protocol line: the command, its positional
// arguments (unescaped) and its optional name=value or boolean
// parameters.
type line struct {
	cmd  string
	args []string
}

// parseLine splits a line at TABs and unescapes each field.
func parseLine(s string) line {
	f := strings.Split(s, "\t")
	l := line{cmd: f[0]}
	for _, a := range f[1:] {
		l.args = append(l.args, unescape(a))
	}
	return l
}

// param returns the value of the optional parameter name= among
// args, and whether it is there. A boolean parameter (no "=") has the
// value "".
func param(args []string, name string) (string, bool) {
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

// escape writes s in Dovecot's tab-escaping: \001 is the escape
// character, followed by 0 (NUL), 1 (\001), t (TAB), r (CR) or n (LF).
// An escaped value can hold no byte that would end a field or a line,
// so nothing sent can inject a parameter or a command.
func escape(s string) string {
	if !strings.ContainsAny(s, "\x00\x01\t\r\n") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b.WriteString("\x010")
		case 1:
			b.WriteString("\x011")
		case '\t':
			b.WriteString("\x01t")
		case '\r':
			b.WriteString("\x01r")
		case '\n':
			b.WriteString("\x01n")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescape reverses escape; \001 followed by any other character
// stands for that character, and a trailing \001 is dropped.
func unescape(s string) string {
	if !strings.Contains(s, "\x01") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != 1 {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			break
		}
		switch s[i] {
		case '0':
			b.WriteByte(0)
		case '1':
			b.WriteByte(1)
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// printable replaces control characters and invalid UTF-8 with '?', as
// Postfix does with the names and reasons Dovecot returns: they end up
// in log lines and headers.
func printable(s string) string {
	ok := utf8.ValidString(s)
	for _, r := range s {
		if !ok || unicode.IsControl(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || unicode.IsControl(r) {
			b.WriteByte('?')
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// validMech reports whether name can be a SASL mechanism name
// (RFC 4422: upper-case letters, digits, '-' and '_', at most 20).
func validMech(name string) bool {
	if name == "" || len(name) > 20 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
