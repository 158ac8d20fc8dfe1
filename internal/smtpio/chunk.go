package smtpio

import (
	"bytes"
	"io"
)

// ReadChunk consumes exactly the size bytes of a BDAT chunk (RFC 3030)
// that follow the BDAT command line, and nothing more: there is no
// dot-stuffing and no end-of-data line, so whatever follows stays
// buffered for the next ReadCommand. It returns the bytes written to w.
//
// Postfix stores content as lines, so a bare <LF> in BDAT content ends a
// line just as in DATA; ReadChunk likewise writes it as <CR><LF> and
// counts it, and in Reject mode reports ErrBareLF (or ErrBareCR), as
// Postfix's "reject" does for BDAT. A <CR> at the end of one chunk and
// an <LF> at the start of the next make one line end; last marks the
// final chunk (BDAT ... LAST) so that a trailing <CR> is then judged.
//
// maxSize bounds the bytes written by this call (maxSize < 0: no limit),
// so the session passes what is left of the message size limit. Past it
// the rest of the chunk is read and dropped and ErrTooBig is returned.
// Errors other than read errors come only after the whole chunk was
// consumed. A stream that ends early gives io.ErrUnexpectedEOF.
func (r *Reader) ReadChunk(w io.Writer, size, maxSize int64, last bool) (int64, error) {
	s := &sink{w: w, max: maxSize}
	var bare error
	br := r.buf()
	for size > 0 {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return s.n, err
			}
		}
		b, _ := br.Peek(int(min(size, int64(br.Buffered()))))
		bare = r.chunkBytes(s, b, bare)
		br.Discard(len(b))
		size -= int64(len(b))
	}
	if last {
		if r.chunkCR {
			bare = r.chunkBareCR(s, 1, bare)
		}
		r.EndMessage()
	}
	return s.result(bare)
}

// EndMessage forgets a <CR> left over from the last BDAT chunk. ReadData
// and ReadChunk with last set do it themselves; the session calls it
// when it abandons a BDAT transaction (RSET, error) so that the next
// message does not start with a stale <CR> state.
func (r *Reader) EndMessage() {
	r.chunkCR = false
}

// chunkBytes passes on buffered chunk bytes, rewriting bare <LF> as
// <CR><LF>. Runs of clean lines go to w in one write.
func (r *Reader) chunkBytes(s *sink, b []byte, bare error) error {
	from, off := 0, 0
	for off < len(b) {
		i := bytes.IndexByte(b[off:], '\n')
		seg := b[off:]
		if i >= 0 {
			seg = b[off : off+i]
		}
		crs := bytes.Count(seg, crlf[:1])
		endCR := len(seg) > 0 && seg[len(seg)-1] == '\r'
		if endCR {
			crs-- // judged by the byte that follows it
		}
		if r.chunkCR && len(seg) > 0 {
			crs++ // the previous chunk's final <CR> had no <LF> after it
		}
		if crs > 0 {
			bare = r.chunkBareCR(s, crs, bare)
		}
		if i < 0 {
			r.chunkCR = endCR
			break
		}
		if !endCR && !(len(seg) == 0 && r.chunkCR) {
			r.stats.BareLF++
			if r.mode == Reject {
				bare, s.off = ErrBareLF, true
			}
			s.write(b[from : off+i])
			s.write(crlf)
			from = off + i + 1
		}
		r.chunkCR = false
		off += i + 1
	}
	s.write(b[from:])
	return bare
}

func (r *Reader) chunkBareCR(s *sink, n int, bare error) error {
	r.stats.BareCR += int64(n)
	if r.mode == Reject && bare == nil {
		bare, s.off = ErrBareCR, true
	}
	return bare
}
