package mailstore

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/postern-mta/postern/internal/address"
)

// asctimeLayout is C's asctime() without the newline, which the mbox
// "From " line uses ("%.24s").
const asctimeLayout = "Mon Jan _2 15:04:05 2006"

// CopyOptions are Postfix's MAIL_COPY_* flags for one kind of delivery.
// Return-Path: and X-Original-To: are always written.
type CopyOptions struct {
	FromLine    bool // MAIL_COPY_FROM: the mbox "From sender date" line
	QuoteFrom   bool // MAIL_COPY_QUOTE: ">From " for body lines starting "From "
	BlankLine   bool // MAIL_COPY_BLANK: an empty line after the message
	DeliveredTo bool // MAIL_COPY_DELIVERED: a Delivered-To: header
}

var (
	// MboxCopy is MAIL_COPY_MBOX: an mbox file's copy.
	MboxCopy = CopyOptions{FromLine: true, QuoteFrom: true, BlankLine: true, DeliveredTo: true}
	// MaildirCopy is a Maildir file's copy.
	MaildirCopy = CopyOptions{DeliveredTo: true}
)

// Envelope is what a copy's envelope headers say.
type Envelope struct {
	Sender   string    // Return-Path:, and the From_ line ("" is MAILER-DAEMON there)
	Original string    // X-Original-To: the recipient as the sender gave it
	Rcpt     string    // Delivered-To:
	Time     time.Time // the From_ line's date
}

// Buffers for copies, reused: a delivery would otherwise allocate
// 64 KiB or more of them for a message of a few.
var (
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
)

// WriteCopy writes the copy of content for env to w: the envelope
// headers as o says, then the content with LF line ends. A failure to
// read content is a *ReadError.
func WriteCopy(w io.Writer, content io.Reader, env Envelope, o CopyOptions) error {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() { bw.Reset(nil); writers.Put(bw) }()
	if o.FromLine {
		from := "MAILER-DAEMON"
		if env.Sender != "" {
			from = QuoteAddr(env.Sender)
		}
		fmt.Fprintf(bw, "From %s  %s\n", from, env.Time.Format(asctimeLayout))
	}
	fmt.Fprintf(bw, "Return-Path: <%s>\n", QuoteAddr(env.Sender))
	fmt.Fprintf(bw, "X-Original-To: %s\n", QuoteAddr(env.Original))
	if o.DeliveredTo {
		fmt.Fprintf(bw, "Delivered-To: %s\n", QuoteAddr(env.Rcpt))
	}
	if err := copyLF(bw, content, o.QuoteFrom); err != nil {
		return err
	}
	if o.BlankLine {
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// copyLF copies CRLF (or LF) lines from r to w with LF line ends, adding
// a final line end when the content lacks one. With quoteFrom, lines that
// begin with "From " get a ">" in front (mboxo quoting, as Postfix).
func copyLF(w *bufio.Writer, r io.Reader, quoteFrom bool) error {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() { br.Reset(nil); readers.Put(br) }()
	atStart := true // at the start of a line (ReadLine returns long lines in pieces)
	for {
		line, more, err := br.ReadLine()
		if err == io.EOF {
			if !atStart {
				w.WriteByte('\n')
			}
			return nil
		}
		if err != nil {
			return &ReadError{err}
		}
		if atStart && quoteFrom && bytes.HasPrefix(line, []byte("From ")) {
			w.WriteByte('>')
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		if !more {
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
		}
		atStart = !more
	}
}

// QuoteAddr writes an address in external form, quoting the local part
// when it needs it (Postfix's quote_822_local). "" stays "".
func QuoteAddr(addr string) string {
	if addr == "" {
		return ""
	}
	a := address.Address{Local: addr}
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		a = address.Address{Local: addr[:i], Domain: addr[i+1:]}
	}
	return a.String()
}

// limitWriter fails with EFBIG, as a write beyond the file size limit
// does, once more than n bytes were written; Postfix enforces
// mailbox_size_limit that way (RLIMIT_FSIZE). It counts what it wrote.
type limitWriter struct {
	w       io.Writer
	n       int64 // bytes left; negative: no limit
	written int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n >= 0 && int64(len(p)) > l.n {
		n, err := l.w.Write(p[:l.n])
		l.n -= int64(n)
		l.written += int64(n)
		if err == nil {
			err = syscall.EFBIG
		}
		return n, err
	}
	n, err := l.w.Write(p)
	if l.n >= 0 {
		l.n -= int64(n)
	}
	l.written += int64(n)
	return n, err
}
