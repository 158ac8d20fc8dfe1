package straycrlf

import (
	"bytes"
	"io"
)

// Replace replaces, in place, every stray <CR> and <LF> of p with a
// space and returns how many it replaced. p is taken as a whole: an <LF>
// at its start has no <CR> before it, and a <CR> at its end no <LF>
// after it.
func Replace(p []byte) int {
	n := 0
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		body := p
		if i >= 0 {
			body = p[:i]
			if i > 0 && p[i-1] == '\r' {
				body = p[:i-1] // this <CR> is the line end's
			} else {
				p[i] = ' '
				n++
			}
		}
		for k := bytes.IndexByte(body, '\r'); k >= 0; k = bytes.IndexByte(body, '\r') {
			body[k] = ' '
			n++
			body = body[k+1:]
		}
		if i < 0 {
			break
		}
		p = p[i+1:]
	}
	return n
}

// bufSize is how much a Reader reads from its source at a time.
const bufSize = 32 << 10

// Reader passes on what it reads from its source with stray <CR> and
// <LF> replaced as Replace does for the whole stream. A <CR> at the end
// of one read is held back until the next byte shows whether it is
// followed by <LF>.
type Reader struct {
	r        io.Reader
	buf      []byte
	off, end int   // buf[off:end] is judged and not yet returned
	held     bool  // the last byte read was a <CR>, not yet judged
	err      error // the source's error, returned once all else is
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

func (z *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for z.off == z.end {
		if z.err != nil {
			if !z.held {
				return 0, z.err
			}
			z.held = false // a <CR> ends the stream: stray
			z.buf[0], z.off, z.end = ' ', 0, 1
			break
		}
		z.fill()
	}
	n := copy(p, z.buf[z.off:z.end])
	z.off += n
	return n, nil
}

// fill reads once from the source into buf, after a held <CR>, and
// judges what it can.
func (z *Reader) fill() {
	if z.buf == nil {
		z.buf = make([]byte, bufSize)
	}
	start := 0
	if z.held {
		z.buf[0], start = '\r', 1
	}
	n, err := z.r.Read(z.buf[start:])
	end := start + n
	z.err = err
	z.held = err == nil && end > 0 && z.buf[end-1] == '\r'
	if z.held {
		end--
	}
	// buf[:end] is whole: an <LF> at 0 had no held <CR> before it (that
	// would be at 0 itself), and a final <CR> is at the end of the stream.
	Replace(z.buf[:end])
	z.off, z.end = 0, end
}
