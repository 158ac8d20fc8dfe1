package smtp

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// dotWriter copies message content into the DATA stream: lines end in
// CRLF (a bare LF is taken as a line end), a leading "." is doubled, lines
// longer than limit are folded with CRLF SPACE as smtp_text_out does for
// smtp_line_length_limit, and close ends the data with "." on a line of
// its own.
type dotWriter struct {
	w       *bufio.Writer
	limit   int
	col     int  // bytes on the current output line
	pending bool // a CR was read and not yet written
	err     error
}

func (d *dotWriter) put(p []byte) {
	if _, err := d.w.Write(p); err != nil && d.err == nil {
		d.err = err
	}
}

func (d *dotWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if d.pending {
			d.pending = false
			if p[0] != '\n' {
				d.text([]byte{'\r'})
			}
		}
		i := bytes.IndexAny(p, "\r\n")
		if i < 0 {
			d.text(p)
			break
		}
		d.text(p[:i])
		if p[i] == '\r' && (i+1 == len(p) || p[i+1] != '\n') {
			if i+1 == len(p) {
				d.pending = true // the LF may come with the next Write
			} else {
				d.text([]byte{'\r'}) // a bare CR is data
			}
			p = p[i+1:]
			continue
		}
		if p[i] == '\r' {
			i++
		}
		d.put(crlf)
		d.col = 0
		p = p[i+1:]
	}
	if d.err != nil {
		return 0, d.err
	}
	return n, nil
}

var crlf = []byte("\r\n")

// text writes line content, stuffing a leading dot and folding long lines.
func (d *dotWriter) text(p []byte) {
	for len(p) > 0 {
		if d.col == 0 && p[0] == '.' {
			d.put([]byte{'.'})
		}
		room := len(p)
		if d.limit > 0 {
			if d.col >= d.limit {
				d.put([]byte("\r\n "))
				d.col = 1
			}
			room = min(room, d.limit-d.col)
		}
		d.put(p[:room])
		d.col += room
		p = p[room:]
	}
}

// close ends the last line if the content did not, and writes ".".
func (d *dotWriter) close() {
	if d.pending {
		d.text([]byte{'\r'})
		d.pending = false
	}
	if d.col > 0 {
		d.put(crlf)
	}
	d.put([]byte(".\r\n"))
}

// copyContent streams the message into the DATA stream. Read errors are
// returned as contentError so they are not taken for network trouble.
func copyContent(d io.Writer, content io.Reader) error {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	for {
		n, err := content.Read(buf)
		if n > 0 {
			if _, werr := d.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &contentError{err}
		}
	}
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

type contentError struct{ err error }

func (e *contentError) Error() string { return "read message content: " + e.err.Error() }
func (e *contentError) Unwrap() error { return e.err }
