package bounce

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// DefaultMaxReturned is bounce_size_limit's default: a notice returns the
// original message whole up to this many bytes, else its headers only.
const DefaultMaxReturned = 50000

// maxHeaderBytes bounds the header section a notice returns, whatever
// MaxReturned says, so that a message made of one endless header cannot
// make a notice of the same size.
const maxHeaderBytes = 1 << 20

// original is the part of the original message a notice returns: CRLF
// lines, headers only or whole.
type original struct {
	data        []byte
	headersOnly bool
	eightBit    bool
}

// readOriginal reads content for a notice. It returns the headers only
// when headersOnly is set or the content is longer than limit bytes
// (limit < 0: no limit), like Postfix's bounce_original().
func readOriginal(content io.Reader, limit int64, headersOnly bool) (original, error) {
	r := bufio.NewReader(content)
	var data []byte
	var err error
	switch {
	case headersOnly:
		data, err = readHeaders(r, nil)
	case limit < 0:
		data, err = io.ReadAll(r)
	default:
		data, err = io.ReadAll(io.LimitReader(r, limit+1))
		if err == nil && int64(len(data)) > limit {
			headersOnly = true
			data, err = readHeaders(r, data)
		}
	}
	if err != nil {
		return original{}, fmt.Errorf("read the original message: %w", err)
	}
	if headersOnly {
		data = headerSection(data)
	}
	data = crlf(data)
	return original{data: data, headersOnly: headersOnly, eightBit: has8bit(data)}, nil
}

// readHeaders reads on after have, what was read already, until the first
// complete line that does not belong to the header section, the end of
// the input, or maxHeaderBytes more bytes.
func readHeaders(r *bufio.Reader, have []byte) ([]byte, error) {
	stop := len(have) + maxHeaderBytes
	// Lines before pos are header lines; an incomplete last line is
	// judged once it is complete.
	pos := bytes.LastIndexByte(headerSection(have), '\n') + 1
	for {
		for {
			nl := bytes.IndexByte(have[pos:], '\n')
			if nl < 0 {
				break
			}
			if !headerLine(bytes.TrimSuffix(have[pos:pos+nl], []byte("\r"))) {
				return have, nil
			}
			pos += nl + 1
		}
		if len(have) >= stop {
			return have, nil
		}
		line, err := r.ReadSlice('\n')
		have = append(have, line...)
		if errors.Is(err, io.EOF) {
			return have, nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

// headerSection returns the leading header lines of b: lines that look
// like "Name: value" or continue one (Postfix's is_header and
// IS_SPACE_TAB), stopping at the blank line or any other line, and at
// maxHeaderBytes on a line boundary.
func headerSection(b []byte) []byte {
	n := 0
	for n < len(b) && n < maxHeaderBytes {
		end := bytes.IndexByte(b[n:], '\n')
		if end < 0 {
			end = len(b) - n
		} else {
			end++
		}
		if !headerLine(bytes.TrimRight(b[n:n+end], "\r\n")) {
			break
		}
		n += end
	}
	return b[:n]
}

// headerLine reports whether line belongs to a header section: it
// continues a field (leading blank) or starts one: a name of printable
// ASCII other than ':', optional blanks, then ':'.
func headerLine(line []byte) bool {
	if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
		return true
	}
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i < len(line) && line[i] == ':'
}

func has8bit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// crlf ends every line of b with CRLF (the queue holds CRLF content; a
// bare LF or a missing final line end is repaired).
func crlf(b []byte) []byte {
	if len(b) == 0 || bytes.HasSuffix(b, []byte("\r\n")) &&
		bytes.Count(b, []byte("\n")) == bytes.Count(b, []byte("\r\n")) {
		return b // already CRLF, as the queue stores it
	}
	out := make([]byte, 0, len(b)+len(b)/64+2)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		out = append(out, bytes.TrimSuffix(b[:i], []byte("\r"))...)
		out = append(out, '\r', '\n')
		b = b[min(i+1, len(b)):]
	}
	return out
}

// boundary is Postfix's MIME boundary, "ORIGID.unixtime/myhostname",
// made safe: characters RFC 2046 does not allow become '-', it is cut to
// 70 characters, and when a line of the returned content starts with it
// a counter is appended until none does, so it cannot end a part early.
func boundary(id string, unix int64, host string, content []byte) string {
	b := []byte(id + "." + strconv.FormatInt(unix, 10) + "/" + host)
	for i, c := range b {
		if !boundaryChar(c) {
			b[i] = '-'
		}
	}
	const maxLen = 70 - 4 // room for a counter
	base := string(b[:min(len(b), maxLen)])
	for n := 0; ; n++ {
		cand := base
		if n > 0 {
			cand = base + "." + strconv.Itoa(n)
		}
		if !bytes.Contains(content, []byte("\n--"+cand)) && !bytes.HasPrefix(content, []byte("--"+cand)) {
			return cand
		}
	}
}

// boundaryChar reports whether c is an RFC 2046 bcharsnospace.
func boundaryChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("'()+_,-./:=?"), c) >= 0
}
