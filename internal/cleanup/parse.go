package cleanup

import (
	"bytes"
	"fmt"
	"io"
)

// MaxHeaderBytes bounds the header section NewMessage parses (Postfix's
// header_size_limit default). A header section longer than that is not
// cut: the field that would cross the bound and everything after it
// become body (NewMessage puts the empty line before them), so nothing
// is lost and memory stays bounded.
const MaxHeaderBytes = 102400

// parseHeader splits the start of content into header fields: a field
// is a line "name:" (the name printable ASCII without a colon, maybe
// followed by blanks) and the lines after it that start with a space or
// a tab. The header ends at an empty line ("\r\n" or "\n": end, the
// body begins after it), at a line that is not a field (no separator:
// the body begins with that line), at the end of the content, or before
// a field that would make it longer than limit. whole tells that p is
// the whole content, not just its first limit bytes. It returns the
// fields, the separator and the offset of the body.
func parseHeader(p []byte, whole bool) (fields []Field, end string, bodyOff int) {
	off := 0 // start of the field being read
	cur := -1
	i := 0 // start of the next line
	for i < len(p) {
		nl := bytes.IndexByte(p[i:], '\n')
		if nl < 0 {
			if !whole {
				break // a line cut by the bound: body
			}
			nl = len(p) - i - 1 // the last line, without its end
		}
		line := p[i : i+nl+1]
		switch {
		case string(line) == "\r\n" || string(line) == "\n":
			if cur >= 0 {
				fields = append(fields, Field{Raw: string(p[off:i])})
			}
			return fields, string(line), i + len(line)
		case (line[0] == ' ' || line[0] == '\t') && cur >= 0:
			// a continuation line
		case isFieldStart(line):
			if cur >= 0 {
				fields = append(fields, Field{Raw: string(p[off:i])})
			}
			off, cur = i, len(fields)
		default:
			if cur >= 0 {
				fields = append(fields, Field{Raw: string(p[off:i])})
			}
			return fields, "", i
		}
		i += len(line)
	}
	if cur >= 0 {
		if whole {
			fields = append(fields, Field{Raw: string(p[off:i])})
			return fields, "", i
		}
		return fields, "", off // the last field may go on past the bound
	}
	return fields, "", i
}

// isFieldStart reports a line "name:" or "name :" (RFC 5322 ftext, and
// blanks before the colon as Postfix's is_header allows).
func isFieldStart(line []byte) bool {
	n := 0
	for n < len(line) && line[n] > ' ' && line[n] < 0x7f && line[n] != ':' {
		n++
	}
	if n == 0 {
		return false
	}
	for n < len(line) && (line[n] == ' ' || line[n] == '\t') {
		n++
	}
	return n < len(line) && line[n] == ':'
}

// headerPrefix returns at most limit+1 bytes from the start of content
// (without a copy when it is in memory), and whether that is all of it.
func headerPrefix(content *Spool, limit int) ([]byte, bool, error) {
	size := content.Size()
	if content.f == nil {
		return content.mem[:min(int64(len(content.mem)), int64(limit))], size <= int64(limit), nil
	}
	n := min(size, int64(limit))
	buf := make([]byte, n)
	if _, err := io.ReadFull(content.Reader(0), buf); err != nil {
		return nil, false, fmt.Errorf("cleanup: reading the spool: %w", err)
	}
	return buf, size <= int64(limit), nil
}
