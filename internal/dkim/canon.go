package dkim

import (
	"io"
	"strings"
)

// relaxedHeader canonicalizes one header field (name, colon, value, folded
// lines; CRLF or LF ends) as RFC 6376 §3.4.2 says: name in lower case,
// lines unfolded, runs of WSP made one SP, WSP around the colon and at the
// end removed. The result has no line end.
func relaxedHeader(field string) string {
	name, value, _ := strings.Cut(field, ":")
	var b strings.Builder
	b.Grow(len(field))
	b.WriteString(strings.ToLower(strings.TrimRight(name, " \t")))
	b.WriteByte(':')
	wsp, started := false, false
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case ' ', '\t', '\r', '\n':
			wsp = true
		default:
			if wsp && started {
				b.WriteByte(' ')
			}
			wsp, started = false, true
			b.WriteByte(c)
		}
	}
	return b.String()
}

// relaxedBody canonicalizes a body as it is written (RFC 6376 §3.4.4):
// runs of WSP become one SP, WSP at line ends goes, empty lines at the end
// go, and a non-empty body ends in CRLF. It holds no more than a count of
// pending empty lines and a small output buffer, so a body is never held.
// LF alone ends a line as CRLF does.
type relaxedBody struct {
	w       io.Writer
	wsp     bool // WSP seen since the last content byte of this line
	cr      bool // a CR seen, not yet known to start a line end
	crlfs   int  // line ends not yet written (they may be trailing)
	content bool // some content byte was written
	n       int
	buf     [8192]byte
	err     error
}

func (c *relaxedBody) out(b byte) {
	if c.n == len(c.buf) {
		c.flush()
	}
	c.buf[c.n] = b
	c.n++
}

func (c *relaxedBody) flush() {
	if c.err == nil && c.n > 0 {
		_, c.err = c.w.Write(c.buf[:c.n])
	}
	c.n = 0
}

// pending writes the line ends and the space held back before content.
func (c *relaxedBody) pending() {
	for ; c.crlfs > 0; c.crlfs-- {
		c.out('\r')
		c.out('\n')
	}
	if c.wsp {
		c.out(' ')
		c.wsp = false
	}
	c.content = true
}

func (c *relaxedBody) content1(b byte) {
	c.pending()
	c.out(b)
}

// contentRun writes bytes that need no canonicalization, in bulk.
func (c *relaxedBody) contentRun(run []byte) {
	c.pending()
	for len(run) > 0 {
		if c.n == len(c.buf) {
			c.flush()
		}
		k := copy(c.buf[c.n:], run)
		c.n += k
		run = run[k:]
	}
}

// Write never fails on content; it returns the error of the writer below.
func (c *relaxedBody) Write(p []byte) (int, error) {
	for i := 0; i < len(p); {
		b := p[i]
		if c.cr {
			c.cr = false
			if b != '\n' {
				c.content1('\r')
			}
		}
		switch b {
		case ' ', '\t':
			c.wsp = true
		case '\r':
			c.cr = true
		case '\n':
			c.wsp = false
			c.crlfs++
		default:
			j := i + 1
			for j < len(p) && p[j] != ' ' && p[j] != '\t' && p[j] != '\r' && p[j] != '\n' {
				j++
			}
			c.contentRun(p[i:j])
			i = j
			continue
		}
		i++
	}
	return len(p), c.err
}

// Close ends the body: a CR left alone is content, and a non-empty body
// gets its one final CRLF.
func (c *relaxedBody) Close() error {
	if c.cr {
		c.cr = false
		c.content1('\r')
	}
	if c.content {
		c.out('\r')
		c.out('\n')
	}
	c.flush()
	return c.err
}
