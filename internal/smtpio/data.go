package smtpio

import (
	"bufio"
	"bytes"
	"io"
)

var crlf = []byte("\r\n")

// sink writes content to w up to max bytes (max < 0: no limit) and
// remembers, rather than returns, why it stopped: the caller must keep
// reading to the end of the content whatever happens here.
type sink struct {
	w    io.Writer
	max  int64
	n    int64 // bytes written
	over bool  // content went past max
	off  bool  // stop writing (over, rejected, or w failed)
	werr error
}

func (s *sink) write(p []byte) {
	if s.off || len(p) == 0 {
		return
	}
	if s.max >= 0 && s.n+int64(len(p)) > s.max {
		p = p[:s.max-s.n]
		s.over, s.off = true, true
	}
	if len(p) == 0 {
		return
	}
	m, err := s.w.Write(p)
	s.n += int64(m)
	if err != nil {
		s.werr, s.off = err, true
	}
}

// result picks the error to report once the content has been read to
// its end: a protocol violation first, then size, then a local failure.
func (s *sink) result(bare error) (int64, error) {
	switch {
	case bare != nil:
		return s.n, bare
	case s.over:
		return s.n, ErrTooBig
	case s.werr != nil:
		return s.n, &WriteError{s.werr}
	}
	return s.n, nil
}

// dataLine is the state of the content line being read.
type dataLine struct {
	r    *Reader
	s    sink
	pend int   // <CR> bytes held back: they may be the <CR> of <CR><LF>
	bare error // first Reject-mode violation
}

// feed passes on line content that holds no <LF>. Trailing <CR> bytes
// are held back until we learn whether <LF> follows; every other <CR>
// is bare.
func (d *dataLine) feed(p []byte) {
	i := len(p)
	for i > 0 && p[i-1] == '\r' {
		i--
	}
	if i > 0 {
		d.flushCR()
		if n := bytes.Count(p[:i], crlf[:1]); n > 0 {
			d.bareCR(n)
		}
		d.s.write(p[:i])
	}
	d.pend += len(p) - i
}

// flushCR emits held-back <CR> bytes as content: no <LF> followed them.
func (d *dataLine) flushCR() {
	if d.pend == 0 {
		return
	}
	d.bareCR(d.pend)
	for ; d.pend > 0; d.pend-- {
		d.s.write(crlf[:1])
	}
}

func (d *dataLine) bareCR(n int) {
	d.r.stats.BareCR += int64(n)
	if d.r.mode == Reject && d.bare == nil {
		d.bare, d.s.off = ErrBareCR, true
	}
}

// end finishes a line at its <LF> and reports whether <CR> preceded it.
func (d *dataLine) end() bool {
	cr := d.pend > 0
	switch {
	case !cr:
		d.r.stats.BareLF++
		if d.r.mode == Reject {
			d.bare, d.s.off = ErrBareLF, true
		}
	case d.r.mode == Allow:
		d.pend = 0 // legacy: every <CR> before <LF> goes
	default:
		d.pend-- // exactly one <CR> belongs to the line end
		d.flushCR()
	}
	d.s.write(crlf)
	return cr
}

// ReadData reads message content after the 354 reply up to and
// including the end-of-data line, undoes dot-stuffing and writes the
// content to w with every line ended by <CR><LF>. It returns the number
// of bytes written. Content is streamed a buffer at a time; lines of any
// length pass through unchanged.
//
// With maxSize >= 0 at most maxSize bytes are written; past that the
// rest is read and dropped and ErrTooBig is returned at the end. In
// Reject mode a bare <LF> or <CR> likewise stops the writing (what was
// written is partial, for the caller to throw away) and is reported as
// ErrBareLF or ErrBareCR once the end is reached, so the session stays
// in step (it may still answer 521 and hang up). A failing w gives a
// *WriteError, also at the end. Input that stops before the end-of-data
// line gives io.ErrUnexpectedEOF; other read errors (such as a deadline)
// are returned at once.
func (r *Reader) ReadData(w io.Writer, maxSize int64) (int64, error) {
	d := dataLine{r: r, s: sink{w: w, max: maxSize}}
	s := &d.s
	prevLF := r.prevLF // the DATA command's own line end counts
	r.chunkCR = false
	bol := true
	br := r.buf()
	for {
		p, err := br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return s.n, err
		}
		full := err == nil
		if bol && len(p) > 0 && p[0] == '.' {
			if full && r.endOfData(p, prevLF) {
				if r.prevLF = p[len(p)-2] != '\r'; r.prevLF {
					r.stats.BareLF++ // Allow mode only
				}
				return s.result(d.bare)
			}
			// RFC 5321 4.5.2 removes the period only when "there are
			// other characters on the line": a lone "." that does not end
			// the data (bare <LF> around it) stays as it is.
			if !full || !isDotLine(p) {
				p = p[1:]
			}
		}
		if !full {
			d.feed(p)
			bol = false
			continue
		}
		if d.pend == 0 && len(p) >= 2 && p[len(p)-2] == '\r' &&
			bytes.IndexByte(p[:len(p)-2], '\r') < 0 {
			s.write(p) // fast path: a plain <CR><LF> line
			prevLF, bol = false, true
			continue
		}
		d.feed(p[:len(p)-1])
		prevLF, bol = !d.end(), true
	}
}

// endOfData reports whether the complete line p (starting with ".") ends
// the content. Only "." <CR><LF> after a <CR><LF> line end does, except
// in Allow mode, where "." with any mix of <CR>s before <LF> does.
func (r *Reader) endOfData(p []byte, prevLF bool) bool {
	if r.mode == Allow {
		return len(bytes.TrimRight(p[1:len(p)-1], "\r")) == 0
	}
	return len(p) == 3 && p[1] == '\r' && !prevLF
}

// isDotLine reports whether p is "." and a line end.
func isDotLine(p []byte) bool {
	return string(p) == ".\n" || string(p) == ".\r\n"
}
