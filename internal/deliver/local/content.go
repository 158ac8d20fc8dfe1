package local

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"

	"github.com/postern-mta/postern/internal/address"
	"github.com/postern-mta/postern/internal/aliases"
)

// asctimeLayout is C's asctime() without the newline, which the mbox
// "From " line uses ("%.24s").
const asctimeLayout = "Mon Jan _2 15:04:05 2006"

// copyOptions are Postfix's MAIL_COPY_* flags for one kind of delivery.
// Return-Path: and X-Original-To: are always written.
type copyOptions struct {
	fromLine    bool // MAIL_COPY_FROM: the mbox "From sender date" line
	quoteFrom   bool // MAIL_COPY_QUOTE: ">From " for body lines starting "From "
	blankLine   bool // MAIL_COPY_BLANK: an empty line after the message
	deliveredTo bool // MAIL_COPY_DELIVERED: a Delivered-To: header
}

var (
	mboxCopy    = copyOptions{fromLine: true, quoteFrom: true, blankLine: true, deliveredTo: true}
	maildirCopy = copyOptions{deliveredTo: true}
)

// Buffers for copies, reused: a delivery would otherwise allocate
// 64 KiB or more of them for a message of a few.
var (
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
)

// readError marks a failure to read the message content, as opposed to
// a failure to write the copy: Postfix defers the first and judges the
// second by its errno.
type readError struct{ err error }

func (e *readError) Error() string { return "error reading message: " + strerror(e.err) }
func (e *readError) Unwrap() error { return e.err }

// writeCopy writes the copy of the message for d's recipient to w: the
// envelope headers, then the content with LF line ends.
func (d *delivery) writeCopy(w io.Writer, o copyOptions) error {
	rc := d.opened
	d.opened = nil
	if rc == nil {
		var err error
		if rc, err = d.m.content(); err != nil {
			return &readError{err}
		}
	}
	defer rc.Close()
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() { bw.Reset(nil); writers.Put(bw) }()
	sender := d.m.req.Env.Sender
	if o.fromLine {
		from := "MAILER-DAEMON"
		if sender != "" {
			from = quoteAddr(sender)
		}
		fmt.Fprintf(bw, "From %s  %s\n", from, d.a.cfg.Now().Format(asctimeLayout))
	}
	fmt.Fprintf(bw, "Return-Path: <%s>\n", quoteAddr(sender))
	fmt.Fprintf(bw, "X-Original-To: %s\n", quoteAddr(d.rcpt.Original()))
	if o.deliveredTo {
		fmt.Fprintf(bw, "Delivered-To: %s\n", quoteAddr(d.rcpt.Addr))
	}
	if err := copyLF(bw, rc, o.quoteFrom); err != nil {
		return err
	}
	if o.blankLine {
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
			return &readError{err}
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

// readDeliveredTo returns the addresses of the Delivered-To: headers in
// the message header, folded, as Postfix's delivered_hdr_init() collects
// them for loop detection.
func readDeliveredTo(r io.Reader) (map[string]bool, error) {
	found := make(map[string]bool)
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() { br.Reset(nil); readers.Put(br) }()
	for {
		line, more, err := br.ReadLine()
		if err == io.EOF {
			return found, nil
		}
		if err != nil {
			return nil, err
		}
		line = bytes.Clone(line) // ReadLine's buffer is reused below
		for more && err == nil { // skip the rest of an overlong line
			_, more, err = br.ReadLine()
		}
		if len(line) == 0 {
			return found, nil // end of the header
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // folded continuation of a header
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !isHeaderName(bytes.TrimRight(name, " \t")) {
			return found, nil // not a header: the body starts here
		}
		if strings.EqualFold(string(bytes.TrimRight(name, " \t")), "Delivered-To") {
			v := strings.TrimSpace(string(value))
			v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
			found[aliases.Fold(v)] = true
		}
	}
}

func isHeaderName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// quoteAddr writes an address in external form, quoting the local part
// when it needs it (Postfix's quote_822_local). "" stays "".
func quoteAddr(addr string) string {
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
// mailbox_size_limit that way (RLIMIT_FSIZE).
type limitWriter struct {
	w io.Writer
	n int64 // bytes left; negative: no limit
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n >= 0 && int64(len(p)) > l.n {
		n, err := l.w.Write(p[:l.n])
		l.n -= int64(n)
		if err == nil {
			err = syscall.EFBIG
		}
		return n, err
	}
	n, err := l.w.Write(p)
	if l.n >= 0 {
		l.n -= int64(n)
	}
	return n, err
}

// sizeLimit returns the limit for a file that already has size bytes.
func (a *Agent) sizeLimit(size int64) int64 {
	if a.cfg.MailboxSizeLimit <= 0 {
		return -1
	}
	return max(a.cfg.MailboxSizeLimit-size, 0)
}
