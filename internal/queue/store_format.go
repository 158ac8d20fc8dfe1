package queue

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// The queue file format; store_doc.go describes it.
const (
	fileMagic     = "POSTERNQ"
	formatVersion = 2        // 2 (2026-12-07): E carries a CRC-32C; files of version 1 are still read
	chunkSize     = 64 << 10 // content bytes per M record
	maxRecord     = 1 << 20  // no record is longer: bounds what a bad length can allocate
	headerLen     = 1 + 1 + 9 + 4
	headerEnd     = len(fileMagic) + headerLen // where the envelope starts
)

// Record types.
const (
	recHeader    = 'V'
	recID        = 'I'
	recArrival   = 'T'
	recSender    = 'S'
	recRcpt      = 'R'
	recClient    = 'C'
	recFlags     = 'F'
	recDSN       = 'D'
	recContent   = 'M'
	recEnd       = 'E'
	recStatus    = 'U'
	recWarned    = 'W'
	recNextRetry = 'A'
)

const (
	flagEightBit = 1 << iota
	flagSMTPUTF8
)

// ErrCorrupt reports a queue file that is torn, truncated or not ours.
var ErrCorrupt = errors.New("corrupt queue file")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord frames payload as a record of type typ.
func appendRecord(b []byte, typ byte, payload []byte) []byte {
	start := len(b)
	b = append(b, typ)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var zeroTimeSec = time.Time{}.Unix()

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// headerRecord is the V record; its length never depends on endOff, so it
// can be rewritten in place once the content is written.
func headerRecord(endOff int64) []byte {
	p := binary.AppendUvarint(nil, formatVersion)
	p = binary.BigEndian.AppendUint64(p, uint64(endOff))
	return appendRecord(nil, recHeader, p)
}

// envelopeRecords encodes everything in env but its content. It refuses
// an envelope with a field too long for a record, which Read would
// refuse.
func envelopeRecords(b []byte, id string, env *Envelope) ([]byte, error) {
	tooLong := false
	add := func(typ byte, p []byte) {
		tooLong = tooLong || len(p) > maxRecord
		b = appendRecord(b, typ, p)
	}
	add(recID, []byte(id))
	add(recArrival, appendTime(nil, env.Arrival))
	add(recSender, []byte(env.Sender))
	for _, r := range env.Recipients {
		rp := appendString(appendString(appendString(nil, r.Addr), r.Notify), r.ORcpt)
		if r.Orig != "" {
			rp = appendString(rp, r.Orig)
		}
		add(recRcpt, rp)
	}
	p := appendString(nil, env.ClientAddr)
	p = appendString(p, env.ClientName)
	p = appendString(p, env.Helo)
	add(recClient, appendString(p, env.Protocol))
	var flags uint64
	if env.EightBit {
		flags |= flagEightBit
	}
	if env.SMTPUTF8 {
		flags |= flagSMTPUTF8
	}
	add(recFlags, binary.AppendUvarint(nil, flags))
	add(recDSN, appendString(appendString(nil, env.Ret), env.EnvID))
	if tooLong {
		return nil, errors.New("envelope field longer than 1 MiB")
	}
	return b, nil
}

// Limits that keep every U record well under maxRecord, however many
// recipients a message has.
const (
	maxStatusPayload = 64 << 10 // entries per U record, about
	maxStatusText    = 16 << 10 // longer status texts are cut
)

// statusRecords encodes new states for some recipients, in index order,
// as one U record or, for many recipients, several.
func statusRecords(b []byte, status map[int]RcptStatus, nrcpt int) []byte {
	var entries []byte
	count := 0
	flush := func() {
		if count > 0 {
			b = appendRecord(b, recStatus, append(binary.AppendUvarint(nil, uint64(count)), entries...))
			entries, count = entries[:0], 0
		}
	}
	for i := 0; i < nrcpt; i++ {
		st, ok := status[i]
		if !ok {
			continue
		}
		notified := byte(0)
		if st.Notified {
			notified = 1
		}
		entries = binary.AppendUvarint(entries, uint64(i))
		entries = append(entries, byte(st.State), notified)
		for _, s := range []string{st.Action, st.DSN, st.Reason, st.Diagnostic, st.RemoteMTA} {
			entries = appendString(entries, s[:min(len(s), maxStatusText)])
		}
		entries = appendTime(entries, st.At)
		if count++; len(entries) >= maxStatusPayload {
			flush()
		}
	}
	flush()
	return b
}

// fileWriter is where encodeQueueFile writes: a file, or memory in tests.
type fileWriter interface {
	io.Writer
	io.WriterAt
}

// encodeQueueFile writes a complete queue file for env, streaming the
// content from body through buf (chunkSize bytes) and checking ctx
// between chunks, and returns the file's length. Content that fits in
// buf goes out with the rest in one write; longer content is streamed
// and the E offset goes into V last, with WriteAt.
func encodeQueueFile(ctx context.Context, fw fileWriter, env *Envelope, body io.Reader, buf []byte) (int64, error) {
	head := append([]byte(fileMagic), headerRecord(0)...)
	head, err := envelopeRecords(head, env.ID, env)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n, err := io.ReadFull(body, buf)
	switch err {
	case io.EOF, io.ErrUnexpectedEOF: // the whole content is in buf
		if n > 0 {
			head = appendRecord(head, recContent, buf[:n])
		}
		copy(head[len(fileMagic):], headerRecord(int64(len(head))))
		sum := crc32.Checksum(head[headerEnd:], castagnoli)
		head = appendRecord(head, recEnd, endPayload(int64(n), sum))
		if _, err := fw.Write(head); err != nil {
			return 0, fmt.Errorf("write: %w", err)
		}
		return int64(len(head)), nil
	case nil:
	default:
		return 0, fmt.Errorf("read message content: %w", err)
	}
	return streamQueueFile(ctx, fw, head, body, buf)
}

// streamQueueFile writes head, then buf (full) and the rest of body as
// content records, then the end marker, and sets the E offset in V.
func streamQueueFile(ctx context.Context, fw fileWriter, head []byte, body io.Reader, buf []byte) (int64, error) {
	w := &summingWriter{w: bufio.NewWriterSize(fw, 32<<10)}
	if _, err := w.w.Write(head); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	w.sum = crc32.Checksum(head[headerEnd:], castagnoli)
	off := int64(len(head))
	var size int64
	n, err := len(buf), error(nil) // the caller read the first chunk
	for {
		if n > 0 {
			k, err := writeRecord(w, recContent, buf[:n])
			if err != nil {
				return 0, fmt.Errorf("write: %w", err)
			}
			off += k
			size += int64(n)
		}
		if err != nil {
			break
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n, err = io.ReadFull(body, buf)
		switch err {
		case nil, io.EOF, io.ErrUnexpectedEOF:
		default:
			return 0, fmt.Errorf("read message content: %w", err)
		}
	}
	end := appendRecord(nil, recEnd, endPayload(size, w.sum))
	if _, err := w.w.Write(end); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	if err := w.w.Flush(); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	if _, err := fw.WriteAt(headerRecord(off), int64(len(fileMagic))); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	return off + int64(len(end)), nil
}

// endPayload is the E record's payload: the content size and the
// checksum of the file from the envelope's first record to the E record
// (see store_doc.go, "Durability": it tells a complete file from one
// whose name reached the disk before all of its data did).
func endPayload(size int64, sum uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.AppendUvarint(nil, uint64(size)), sum)
}

// summingWriter is a buffered writer that keeps the CRC-32C of what
// goes through it, for the E record.
type summingWriter struct {
	w   *bufio.Writer
	sum uint32
}

func (s *summingWriter) write(p []byte) error {
	s.sum = crc32.Update(s.sum, castagnoli, p)
	_, err := s.w.Write(p)
	return err
}

// writeRecord writes a record without copying the payload.
func writeRecord(w *summingWriter, typ byte, payload []byte) (int64, error) {
	var hdr [1 + binary.MaxVarintLen64]byte
	hdr[0] = typ
	n := 1 + binary.PutUvarint(hdr[1:], uint64(len(payload)))
	crc := crc32.Update(crc32.Checksum(hdr[:n], castagnoli), castagnoli, payload)
	w.write(hdr[:n])
	w.write(payload)
	err := w.write(binary.BigEndian.AppendUint32(nil, crc))
	return int64(n + len(payload) + 4), err
}

// readRecord reads one record, checking its frame and checksum; left is
// how many bytes r holds at most, so that a bad length costs no memory.
// It returns io.EOF only when r is exhausted before the first byte.
func readRecord(r *bufio.Reader, left int64, buf []byte) (typ byte, payload []byte, n int64, err error) {
	typ, err = r.ReadByte()
	if err != nil {
		return 0, nil, 0, err
	}
	var lenBuf [binary.MaxVarintLen64]byte
	lenBuf[0] = typ
	m := 1
	var length uint64
	for shift := 0; ; shift += 7 {
		c, err := r.ReadByte()
		if err != nil {
			return 0, nil, 0, fmt.Errorf("%w: record %q cut short", ErrCorrupt, typ)
		}
		if m == len(lenBuf) {
			return 0, nil, 0, fmt.Errorf("%w: record %q: bad length", ErrCorrupt, typ)
		}
		lenBuf[m] = c
		m++
		length |= uint64(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	if length > maxRecord {
		return 0, nil, 0, fmt.Errorf("%w: record %q: length %d", ErrCorrupt, typ, length)
	}
	if int64(m)+int64(length)+4 > left {
		return 0, nil, 0, fmt.Errorf("%w: record %q cut short", ErrCorrupt, typ)
	}
	if uint64(cap(buf)) < length+4 {
		buf = make([]byte, length+4)
	}
	buf = buf[:length+4]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, 0, fmt.Errorf("%w: record %q cut short", ErrCorrupt, typ)
	}
	crc := crc32.Update(crc32.Checksum(lenBuf[:m], castagnoli), castagnoli, buf[:length])
	if binary.BigEndian.Uint32(buf[length:]) != crc {
		return 0, nil, 0, fmt.Errorf("%w: record %q: checksum mismatch", ErrCorrupt, typ)
	}
	return typ, buf[:length], int64(m) + int64(length) + 4, nil
}

// payloadReader decodes the fields of one payload; the first problem
// sticks, so callers check ok once at the end.
type payloadReader struct {
	b  []byte
	ok bool
}

func newPayload(b []byte) *payloadReader { return &payloadReader{b: b, ok: true} }

func (p *payloadReader) uvarint() uint64 {
	v, n := binary.Uvarint(p.b)
	if n <= 0 {
		p.ok = false
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *payloadReader) varint() int64 {
	v, n := binary.Varint(p.b)
	if n <= 0 {
		p.ok = false
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *payloadReader) byte() byte {
	if len(p.b) == 0 {
		p.ok = false
		return 0
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}

func (p *payloadReader) string() string {
	n := p.uvarint()
	if n > uint64(len(p.b)) {
		p.ok = false
		return ""
	}
	s := string(p.b[:n])
	p.b = p.b[n:]
	return s
}

func (p *payloadReader) time() time.Time {
	sec, nsec := p.varint(), p.uvarint()
	if nsec >= 1e9 {
		p.ok = false
	}
	if sec == zeroTimeSec && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec))
}

// done reports whether the payload decoded cleanly and completely.
func (p *payloadReader) done() bool { return p.ok && len(p.b) == 0 }
