package queue

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// queueFile is what a queue file says, except its content.
type queueFile struct {
	env        Envelope
	status     []RcptStatus
	size       int64 // content bytes
	next       time.Time
	warned     bool
	contentOff int64 // first M record (E when the content is empty)
	endOff     int64 // the E record
	tailOff    int64 // first byte after E, where appended records start
	validEnd   int64 // end of the last valid appended record
	fileSize   int64
	sum        uint32 // the E record's checksum of [headerEnd, endOff)
	summed     bool   // E has one (files written before it have not)
}

// verify checks the E record's checksum against the file's envelope
// and content (Read checks only the header, envelope and end marker):
// it finds a file whose name reached the disk before all of its data
// (see store_doc.go, "Recovery"). A file without a checksum passes.
func (qf *queueFile) verify(r io.ReaderAt) error {
	if !qf.summed {
		return nil
	}
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, io.NewSectionReader(r, int64(headerEnd), qf.endOff-int64(headerEnd))); err != nil {
		return err
	}
	if h.Sum32() != qf.sum {
		return corrupt("envelope and content do not match the end marker's checksum")
	}
	return nil
}

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// parseQueueFile reads a queue file's envelope, end marker and appended
// state. When id is not empty the file must carry that ID. Errors other
// than I/O errors from r wrap ErrCorrupt.
func parseQueueFile(r io.ReaderAt, size int64, id string) (*queueFile, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 4096)
	magic := make([]byte, len(fileMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != fileMagic {
		return nil, corrupt("no queue file header")
	}
	typ, p, _, err := readRecord(br, size-int64(len(fileMagic)), nil)
	if err != nil || typ != recHeader {
		return nil, corrupt("bad header record")
	}
	hdr := newPayload(p)
	version := hdr.uvarint()
	if !hdr.ok || (version != formatVersion && version != 1) {
		return nil, corrupt("unknown format version")
	}
	if len(hdr.b) != 8 {
		return nil, corrupt("bad header record")
	}
	qf := &queueFile{fileSize: size, endOff: int64(binary.BigEndian.Uint64(hdr.b))}
	if qf.endOff < int64(headerEnd) || qf.endOff >= size {
		return nil, corrupt("end marker offset %d outside the file (%d bytes)", qf.endOff, size)
	}
	off, err := parseEnvelope(br, qf, id)
	if err != nil {
		return nil, err
	}
	qf.contentOff = off
	if off > qf.endOff {
		return nil, corrupt("envelope overlaps the end marker")
	}
	// The end marker, then the appended state records.
	br.Reset(io.NewSectionReader(r, qf.endOff, size-qf.endOff))
	typ, p, n, err := readRecord(br, size-qf.endOff, nil)
	if err != nil || typ != recEnd {
		if err != nil && !errors.Is(err, ErrCorrupt) && err != io.EOF {
			return nil, err
		}
		return nil, corrupt("no end marker")
	}
	end := newPayload(p)
	qf.size = int64(end.uvarint())
	if end.ok && len(end.b) == 4 { // the checksum (files of 2026-12-07 on)
		qf.sum, qf.summed = binary.BigEndian.Uint32(end.b), true
		end.b = nil
	}
	if !end.done() || qf.size < 0 || qf.size > qf.endOff-qf.contentOff {
		return nil, corrupt("bad end marker")
	}
	qf.tailOff = qf.endOff + n
	qf.validEnd = qf.tailOff
	qf.status = make([]RcptStatus, len(qf.env.Recipients))
	var buf []byte
	for {
		typ, p, n, err := readRecord(br, size-qf.validEnd, buf)
		if err != nil || !qf.apply(typ, p) {
			// EOF, or a torn or unknown record: the state ends here.
			return qf, nil
		}
		buf = p
		qf.validEnd += n
	}
}

// parseEnvelope reads the records before the content and returns the
// offset of the first content (or end) record.
func parseEnvelope(br *bufio.Reader, qf *queueFile, id string) (int64, error) {
	size := qf.fileSize
	off := int64(headerEnd)
	seen := map[byte]bool{}
	env := &qf.env
	for {
		next, err := br.Peek(1)
		if err != nil {
			return 0, corrupt("envelope cut short")
		}
		if next[0] == recContent || next[0] == recEnd {
			break
		}
		typ, payload, n, err := readRecord(br, size-off, nil)
		if err != nil {
			return 0, err
		}
		off += n
		if seen[typ] && typ != recRcpt {
			return 0, corrupt("duplicate record %q", typ)
		}
		seen[typ] = true
		p := newPayload(payload)
		switch typ {
		case recID:
			env.ID = string(payload)
			if !ValidID(env.ID) || (id != "" && env.ID != id) {
				return 0, corrupt("file holds queue ID %q", env.ID)
			}
			p.b = nil
		case recArrival:
			env.Arrival = p.time()
		case recSender:
			env.Sender = string(payload)
			p.b = nil
		case recRcpt:
			r := Recipient{Addr: p.string(), Notify: p.string(), ORcpt: p.string()}
			if p.ok && len(p.b) > 0 { // the original address is optional
				r.Orig = p.string()
			}
			env.Recipients = append(env.Recipients, r)
		case recClient:
			env.ClientAddr, env.ClientName, env.Helo, env.Protocol = p.string(), p.string(), p.string(), p.string()
		case recFlags:
			flags := p.uvarint()
			env.EightBit, env.SMTPUTF8 = flags&flagEightBit != 0, flags&flagSMTPUTF8 != 0
		case recDSN:
			env.Ret, env.EnvID = p.string(), p.string()
		default:
			return 0, corrupt("unexpected record %q in the envelope", typ)
		}
		if !p.done() {
			return 0, corrupt("bad record %q", typ)
		}
	}
	for _, t := range []byte{recID, recArrival, recSender, recRcpt, recClient, recFlags, recDSN} {
		if !seen[t] {
			return 0, corrupt("envelope lacks record %q", t)
		}
	}
	return off, nil
}

// apply applies one appended record to the state, and reports false for
// a record that does not belong there.
func (qf *queueFile) apply(typ byte, payload []byte) bool {
	p := newPayload(payload)
	switch typ {
	case recStatus:
		n := p.uvarint()
		if n > uint64(len(qf.status)) {
			return false
		}
		updates := make(map[int]RcptStatus, n)
		for ; n > 0 && p.ok; n-- {
			i := p.uvarint()
			st := RcptStatus{State: RcptState(p.byte())}
			notified := p.byte()
			st.Action, st.DSN, st.Reason, st.Diagnostic, st.RemoteMTA = p.string(), p.string(), p.string(), p.string(), p.string()
			st.At = p.time()
			if i >= uint64(len(qf.status)) || st.State > Bounced || notified > 1 {
				return false
			}
			st.Notified = notified == 1
			updates[int(i)] = st
		}
		if !p.done() {
			return false
		}
		for i, st := range updates {
			qf.status[i] = st
		}
	case recWarned:
		qf.warned = true
	case recNextRetry:
		qf.next = p.time()
	default:
		return false
	}
	return p.done()
}

// contentReader decodes the M records of a queue file, checking every
// checksum and the total size, so damaged content ends in an error
// rather than in a wrong message.
type contentReader struct {
	r       *bufio.Reader
	left    int64 // bytes of M records not read yet
	buf     []byte
	pending []byte
	got     int64
	want    int64
	err     error
}

func newContentReader(r io.ReaderAt, qf *queueFile) *contentReader {
	sec := io.NewSectionReader(r, qf.contentOff, qf.endOff-qf.contentOff)
	return &contentReader{r: bufio.NewReaderSize(sec, 16<<10), left: sec.Size(), want: qf.size}
}

func (c *contentReader) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		typ, payload, n, err := readRecord(c.r, c.left, c.buf)
		c.left -= n
		switch {
		case err == io.EOF && c.got == c.want:
			c.err = io.EOF
		case err == io.EOF:
			c.err = corrupt("content is %d bytes, want %d", c.got, c.want)
		case err != nil:
			c.err = err
		case typ != recContent:
			c.err = corrupt("unexpected record %q in the content", typ)
		default:
			c.got += int64(len(payload))
			if c.got > c.want {
				c.err = corrupt("content longer than %d bytes", c.want)
				continue
			}
			c.buf, c.pending = payload, payload
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}
