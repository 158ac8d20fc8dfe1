package smtpio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// BareNewline says what to do with a line that ends in <LF> alone
// (smtpd_forbid_bare_newline).
type BareNewline int

const (
	// Normalize accepts a bare <LF> as if it were <CR><LF>, but ends
	// DATA only at <CR><LF>.<CR><LF> (Postfix "normalize", "yes", "note").
	Normalize BareNewline = iota
	// Reject refuses commands and content with a bare <LF> (ErrBareLF),
	// and content with a bare <CR> (ErrBareCR) (Postfix "reject").
	Reject
	// Allow is the legacy behaviour: <LF> ends any line, including the
	// "." that ends DATA. Vulnerable to SMTP smuggling (Postfix "no").
	Allow
)

func (m BareNewline) String() string {
	switch m {
	case Normalize:
		return "normalize"
	case Reject:
		return "reject"
	case Allow:
		return "no"
	}
	return fmt.Sprintf("BareNewline(%d)", int(m))
}

// ParseBareNewline maps a Postfix 3.9 smtpd_forbid_bare_newline value.
// Since 3.9 (and 3.8.5) "yes" is an alias for "normalize", not "reject".
func ParseBareNewline(s string) (BareNewline, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "normalize", "yes", "note":
		return Normalize, nil
	case "reject":
		return Reject, nil
	case "no":
		return Allow, nil
	}
	return Normalize, fmt.Errorf("smtpio: bad smtpd_forbid_bare_newline value %q", s)
}

var (
	// ErrLineTooLong: a command line was longer than allowed. The rest of
	// the line was read and dropped, so the next command can follow.
	ErrLineTooLong = errors.New("smtpio: line too long")
	// ErrBareLF: a line ended in <LF> without <CR> in Reject mode.
	ErrBareLF = errors.New("smtpio: bare <LF> received")
	// ErrBareCR: message content held a <CR> not followed by <LF> in
	// Reject mode.
	ErrBareCR = errors.New("smtpio: bare <CR> received")
	// ErrTooBig: the content went past maxSize; the rest was read and
	// dropped up to its end, so the session stays in step with the client.
	ErrTooBig = errors.New("smtpio: message too big")
)

// WriteError wraps a failure of the destination writer. The content was
// still read to its end, so the session can answer 451 and carry on.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return "smtpio: write content: " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// Stats counts protocol oddities since the Reader was made, for logging
// (Postfix "notes=bare_lf"). Reset and SetMode do not clear them.
type Stats struct {
	BareLF int64 // lines ended by <LF> without <CR>
	BareCR int64 // <CR> bytes not followed by <LF>
}

// bufSize bounds what one read holds; longer lines are handled in pieces.
const bufSize = 4096

// Reader reads SMTP commands, DATA content and BDAT chunks from one
// connection. It is not safe for concurrent use.
type Reader struct {
	// br is the buffer, nil while it is lent back to the pool (only
	// ever when nothing was buffered: see Idler).
	br      *bufio.Reader
	src     io.Reader
	idler   Idler
	mode    BareNewline
	stats   Stats
	prevLF  bool   // the last line read ended in a bare <LF>
	chunkCR bool   // the last BDAT chunk ended in <CR>
	scratch []byte // reused for command lines that span buffer fills
}

// An Idler is a source that can wait for input without a buffer
// (internal/idlewait). A Reader with one (SetIdler) returns its buffer
// to a pool shared by all Readers while it waits for a command with
// nothing buffered (Wait), and takes one again to read: a session
// held open by a silent client then costs no read buffer. A buffer is
// lent back only empty and is reset before it is used again, so no
// byte of one connection can reach another.
type Idler interface {
	// WaitIdle blocks until the source has input, has ended or has an
	// error to report, consuming nothing. An error (a deadline that
	// passed, a closed connection) is returned by Wait as it is.
	WaitIdle() error
}

// bufPool holds the buffers of Readers that wait idle.
var bufPool = sync.Pool{New: func() any {
	// NewReaderSize(nil) then Reset: NewReaderSize would hand back r
	// itself if r were already a large enough *bufio.Reader, and Reset or
	// Discard must never touch a buffer we do not own.
	return bufio.NewReaderSize(nil, bufSize)
}}

// NewReader reads from r through a buffer of its own.
func NewReader(r io.Reader, mode BareNewline) *Reader {
	rd := &Reader{src: r, mode: mode}
	rd.buf()
	return rd
}

// SetIdler lets the Reader wait for commands through i without its
// buffer (see Idler); nil keeps the buffer. Reset forgets the Idler.
func (r *Reader) SetIdler(i Idler) { r.idler = i }

// Wait waits for the next command without a buffer: with an Idler and
// nothing buffered, it lends the buffer back and returns when the
// source has input (or the Idler's error); otherwise it returns nil at
// once. ReadCommand then reads the command. It is not part of
// ReadCommand so that a goroutine parked here has little of its stack
// in use (the runtime then keeps 4 KiB for it, not 8).
func (r *Reader) Wait() error {
	if r.idler == nil || r.Buffered() > 0 {
		return nil
	}
	r.release()
	return r.idler.WaitIdle()
}

// buf returns the buffer, taking one from the pool if it was lent.
func (r *Reader) buf() *bufio.Reader {
	if r.br == nil {
		r.br = bufPool.Get().(*bufio.Reader)
		r.br.Reset(r.src)
	}
	return r.br
}

// release lends the buffer back to the pool when nothing is in it.
func (r *Reader) release() {
	if r.br == nil || r.br.Buffered() > 0 {
		return
	}
	r.br.Reset(nil) // forget the source; the bytes beyond are unreachable
	bufPool.Put(r.br)
	r.br, r.scratch = nil, nil
}

// SetMode changes the bare-newline policy, e.g. once the client is known
// to be in smtpd_forbid_bare_newline_exclusions.
func (r *Reader) SetMode(m BareNewline) { r.mode = m }

// Mode returns the bare-newline policy in force.
func (r *Reader) Mode() BareNewline { return r.mode }

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// Buffered is how many bytes were read from the connection but not yet
// consumed: non-zero before a reply means the client pipelined.
func (r *Reader) Buffered() int {
	if r.br == nil {
		return 0
	}
	return r.br.Buffered()
}

// Peek returns up to max of the buffered bytes without consuming them
// and without reading from the connection. The slice is valid until the
// next read.
func (r *Reader) Peek(max int) []byte {
	if r.br == nil {
		return nil
	}
	b, _ := r.br.Peek(min(max, r.br.Buffered()))
	return b
}

// Fill reads once from the source when nothing is buffered, so that
// Peek sees what the source had ready; the source decides how long that
// may wait (a TLS connection with a read deadline already past returns
// at once). A read error is returned and not kept.
func (r *Reader) Fill() error {
	if r.Buffered() > 0 {
		return nil
	}
	_, err := r.buf().Peek(1)
	return err
}

// Discard drops buffered input, e.g. plaintext that followed STARTTLS
// and must not be taken as if it came over TLS.
func (r *Reader) Discard() {
	if r.br != nil {
		r.br.Discard(r.br.Buffered())
	}
}

// Reset switches to a new source (the TLS connection after STARTTLS),
// dropping anything buffered from the old one, and forgets the Idler.
func (r *Reader) Reset(src io.Reader) {
	r.src, r.idler = src, nil
	if r.br != nil {
		r.br.Reset(src)
	}
	r.prevLF, r.chunkCR = false, false
}

// ReadCommand reads one command line and returns it without its line
// end. max bounds the line without its end; a longer line is consumed
// and dropped and ErrLineTooLong is returned. The line is returned as
// received otherwise: NUL bytes and bare <CR> stay in it for the session
// to reject as bad syntax, as Postfix does. A clean EOF before any byte
// is io.EOF; EOF inside a line is io.ErrUnexpectedEOF. At most about max
// bytes are allocated, whatever the client sends; max is taken as at
// most 1 GiB.
func (r *Reader) ReadCommand(max int) (string, error) {
	max = min(max, 1<<30) // so that max+1 below cannot overflow
	br := r.buf()
	var (
		acc   []byte // the line so far, when it spans buffer fills
		seen  int    // bytes of the line seen so far, without <LF>
		last  byte   // the last byte seen before <LF>
		long  bool
		parts bool
	)
	for {
		p, err := br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			if err == io.EOF {
				if seen+len(p) == 0 {
					return "", io.EOF
				}
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		full := err == nil
		if full {
			p = p[:len(p)-1]
		}
		if len(p) > 0 {
			last = p[len(p)-1]
		}
		seen += len(p)
		if !full || parts {
			parts = true
			// One more byte than max: it may be the <CR> of <CR><LF>.
			if seen > max+1 {
				long, acc = true, nil
			} else if !long {
				if acc == nil {
					acc = r.scratch[:0]
				}
				acc = appendCapped(acc, p, max+1)
				r.scratch = acc
			}
			if !full {
				continue
			}
			p = acc
		}
		return r.endCommand(p, seen > 0 && last == '\r', long, max)
	}
}

// endCommand strips the line end from a complete line and applies the
// mode; cr says whether the <LF> was preceded by <CR>.
func (r *Reader) endCommand(p []byte, cr, long bool, max int) (string, error) {
	r.prevLF = !cr
	if !cr {
		r.stats.BareLF++
	}
	if !long && !cr && r.mode == Reject {
		return "", ErrBareLF
	}
	if r.mode == Allow {
		// Postfix with bare-newline detection off strips every <CR>
		// before the <LF>; with detection on, exactly one.
		p = bytes.TrimRight(p, "\r")
	} else if cr && !long {
		p = p[:len(p)-1]
	}
	if long || len(p) > max {
		return "", ErrLineTooLong
	}
	r.stats.BareCR += int64(bytes.Count(p, []byte{'\r'}))
	return string(p), nil
}

// appendCapped appends p to b, growing b to at most limit bytes so a
// hostile line cannot make us allocate more than the caller allowed.
func appendCapped(b, p []byte, limit int) []byte {
	if need := len(b) + len(p); need > cap(b) {
		nb := make([]byte, len(b), min(max(2*cap(b), need, bufSize), limit))
		copy(nb, b)
		b = nb
	}
	return append(b, p...)
}
