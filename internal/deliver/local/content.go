package local

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"sync"

	"github.com/postern-mta/postern/internal/aliases"
	"github.com/postern-mta/postern/internal/deliver/mailstore"
)

// Copy formats, as Postfix's local(8) writes them (mailstore.CopyOptions).
var (
	mboxCopy    = mailstore.MboxCopy
	maildirCopy = mailstore.MaildirCopy
)

// readers are buffers for reading headers, reused.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// writeCopy writes the copy of the message for d's recipient to w: the
// envelope headers, then the content with LF line ends.
func (d *delivery) writeCopy(w io.Writer, o mailstore.CopyOptions) error {
	rc := d.opened
	d.opened = nil
	if rc == nil {
		var err error
		if rc, err = d.m.content(); err != nil {
			return &mailstore.ReadError{Err: err}
		}
	}
	defer rc.Close()
	return mailstore.WriteCopy(w, rc, mailstore.Envelope{Sender: d.m.req.Env.Sender, Original: d.rcpt.Original(),
		Rcpt: d.rcpt.Addr, Time: d.a.cfg.Now()}, o)
}

// copyTo is a mailstore.Copy of the message for d's recipient with o.
func (d *delivery) copyTo(o mailstore.CopyOptions) *mailstore.Copy {
	return &mailstore.Copy{Ctx: d.ctx, QueueID: d.m.req.ID, Rcpt: d.idx, Limit: d.a.cfg.MailboxSizeLimit, DSN: "5.2.0",
		Batch: &d.m.batch, Write: func(w io.Writer) error { return d.writeCopy(w, o) }}
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
