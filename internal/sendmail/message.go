package sendmail

import (
	"bufio"
	"bytes"
	"io"
	"strings"
)

// input reads a message from sendmail's standard input the way Postfix's
// sendmail does: leading "From " lines (mbox envelopes) are dropped; with
// DotEnds a line holding only "." ends the message; trailing CRs are
// removed from every line (sendmail_fix_line_endings = always). Lines of
// any length pass unchanged, as in Postfix (which cuts them into records
// of line_length_limit and joins them again). Unlike Postfix it refuses
// NUL bytes, which no mail message holds, so that binary data piped by
// mistake fails loudly instead of being mangled on the way.
type input struct {
	br      *bufio.Reader
	dotEnds bool
	limit   int64 // message_size_limit; 0: none
	size    int64 // the content so far, counted as the queue stores it (CRLF)
	midLine bool  // the last piece did not end its line
	started bool  // past the leading "From " lines
	crs     int   // CRs held back at the end of a piece: line end or not?
	done    bool
}

var (
	errNUL     = &Error{Code: ExDataErr, Msg: "message content contains a NUL byte: not a mail message (binary data?)"}
	errTooBig  = &Error{Code: ExDataErr, Msg: "message file too big"}
	errEmpty   = &Error{Code: ExDataErr, Msg: "empty message: nothing was read from standard input"}
	errHdrLong = &Error{Code: ExDataErr, Msg: "unable to extract recipients: message header length exceeds safety limit"}
)

func newInput(r io.Reader, dotEnds bool, limit int64) *input {
	return &input{br: bufio.NewReaderSize(r, 64<<10), dotEnds: dotEnds, limit: limit}
}

// next returns the next piece of content: a whole line ending in LF
// (complete), or part of a long line. It returns io.EOF at the end.
func (in *input) next() (piece []byte, complete bool, err error) {
	for !in.done {
		chunk, err := in.br.ReadSlice('\n')
		if len(chunk) == 0 {
			in.done = true
			if err != io.EOF {
				return nil, false, &Error{Code: ExDataErr, Msg: "error reading input: " + err.Error()}
			}
			break // CRs still held ended the last line: dropped with it
		}
		if bytes.IndexByte(chunk, 0) >= 0 {
			return nil, false, errNUL
		}
		lineStart := !in.midLine
		held := bytes.Repeat([]byte{'\r'}, in.crs) // CRs that turn out to be inside the line
		if chunk[len(chunk)-1] == '\n' {
			body := bytes.TrimRight(chunk[:len(chunk)-1], "\r")
			if len(body) == 0 {
				held = held[:0]
			}
			in.crs, in.midLine = 0, false
			if lineStart && !in.started && isFromLine(body) {
				continue
			}
			in.started = true
			if lineStart && in.dotEnds && string(body) == "." {
				in.done = true
				break
			}
			return in.count(append(append(held, body...), '\n'), true)
		}
		// Part of a long line, or a last line without LF: trailing CRs
		// wait until we know whether the line ends after them.
		body := bytes.TrimRight(chunk, "\r")
		in.started, in.midLine = true, true
		if len(body) == 0 {
			in.crs += len(chunk)
			continue
		}
		in.crs = len(chunk) - len(body)
		return in.count(append(held, body...), false)
	}
	return nil, false, io.EOF
}

// count adds a piece to the size and checks the limit.
func (in *input) count(piece []byte, complete bool) ([]byte, bool, error) {
	in.size += int64(len(piece))
	if complete {
		in.size++ // LF becomes CRLF in the queue
	}
	if in.limit > 0 && in.size > in.limit {
		return nil, false, errTooBig
	}
	return piece, complete, nil
}

// isFromLine: ">*From " starts an mbox envelope line.
func isFromLine(line []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(line, ">"), []byte("From "))
}

// recipientHeaders are the headers sendmail -t takes recipients from;
// true marks the resent set.
var recipientHeaders = map[string]bool{"to": false, "cc": false, "bcc": false, "resent-to": true, "resent-cc": true, "resent-bcc": true}

// extractor collects recipients from the header section for -t as
// Postfix's sendmail does: To:, Cc: and Bcc:, or only the Resent- ones
// once a Resent-To:, -Cc: or -Bcc: appears. No header may exceed
// header_size_limit. Bcc: stays in the content: pickup removes it, as
// Postfix's cleanup does (message_drop_headers), with or without -t.
type extractor struct {
	limit    int64
	inHeader bool   // a header has started
	name     string // the recipient header being collected, lower case
	value    strings.Builder
	size     int64
	normal   []string
	resent   []string
	isResent bool
}

// add feeds one piece of input and reports whether the header section
// ended with it (an empty line, or a line that is not a header).
func (x *extractor) add(piece []byte, lineStart bool) (end bool, err error) {
	text := bytes.TrimSuffix(piece, []byte("\n"))
	if lineStart && !(x.inHeader && len(text) > 0 && (text[0] == ' ' || text[0] == '\t')) {
		x.flush()
		name, ok := headerName(text)
		if !ok {
			return true, nil
		}
		x.inHeader = true
		if _, ok := recipientHeaders[strings.ToLower(name)]; ok {
			x.name = strings.ToLower(name)
		}
		text = text[bytes.IndexByte(text, ':')+1:]
	}
	if x.size += int64(len(piece)); x.size > x.limit {
		return false, errHdrLong
	}
	if x.name != "" {
		x.value.Write(text)
		x.value.WriteByte(' ')
	}
	return false, nil
}

// flush ends the current header.
func (x *extractor) flush() {
	if x.name != "" {
		addrs := AddressList(x.value.String())
		if recipientHeaders[x.name] {
			x.resent = append(x.resent, addrs...)
			x.isResent = true
		} else if !x.isResent {
			x.normal = append(x.normal, addrs...)
		}
	}
	x.name, x.size = "", 0
	x.value.Reset()
}

// recipients returns what -t found.
func (x *extractor) recipients() []string {
	x.flush()
	if x.isResent {
		return x.resent
	}
	return x.normal
}

// headerName returns the name of a header line (Postfix's is_header()):
// printable ASCII but ':' up to the colon, blanks allowed before it.
func headerName(line []byte) (string, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", false
	}
	name := strings.TrimRight(string(line[:i]), " \t")
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return "", false
	}
	return name, true
}
