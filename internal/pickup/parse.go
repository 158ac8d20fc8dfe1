package pickup

import (
	"bufio"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"io"
	"slices"
	"strings"
)

// recordReader reads records and hashes every byte it consumes, so that
// the end record's checksum covers exactly what came before it.
type recordReader struct {
	br   *bufio.Reader
	crc  hash.Hash32
	left int64 // bytes of the file not read yet
	buf  []byte
}

func (r *recordReader) readFull(n int, hashed bool) ([]byte, error) {
	if int64(n) > r.left {
		return nil, malformed("cut short")
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.br, b); err != nil {
		return nil, readErr(err)
	}
	r.left -= int64(n)
	if hashed {
		r.crc.Write(b)
	}
	return b, nil
}

// readErr keeps I/O errors apart from a file that ends too early.
func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return malformed("cut short")
	}
	return err
}

// header reads a record's type and length; max bounds the length.
func (r *recordReader) header(max int) (byte, int, error) {
	t, err := r.readFull(1, true)
	if err != nil {
		return 0, 0, err
	}
	typ := t[0]
	var n uint64
	for shift := 0; ; shift += 7 {
		c, err := r.readFull(1, true)
		if err != nil {
			return 0, 0, err
		}
		if shift > 28 {
			return 0, 0, malformed("record %q: bad length", typ)
		}
		n |= uint64(c[0]&0x7f) << shift
		if c[0] < 0x80 {
			break
		}
	}
	if n > uint64(max) {
		return 0, 0, malformed("record %q: length %d", typ, n)
	}
	return typ, int(n), nil
}

// ReadSubmission reads the envelope of a maildrop file of size bytes
// from r and returns it with a reader of the content. The content reader
// checks the end record (content size and checksum) when it gets there,
// so a damaged or truncated file ends in an error, never in a short
// message. Format errors wrap ErrMalformed.
func ReadSubmission(r io.Reader, size int64) (*Submission, io.Reader, error) {
	rr := &recordReader{br: bufio.NewReaderSize(r, 32<<10), crc: crc32.New(castagnoli), left: size}
	magic, err := rr.readFull(len(fileMagic), true)
	if err != nil || string(magic) != fileMagic {
		return nil, nil, malformed("not a maildrop file")
	}
	typ, n, err := rr.header(binary.MaxVarintLen64)
	if err != nil || typ != recVersion {
		return nil, nil, malformed("no version record")
	}
	p, err := rr.readFull(n, true)
	if err != nil {
		return nil, nil, err
	}
	if v, k := binary.Uvarint(p); k != len(p) || v != formatVersion {
		return nil, nil, malformed("unknown format version")
	}
	s, err := readEnvelope(rr)
	if err != nil {
		return nil, nil, err
	}
	if err := s.validate(); err != nil {
		return nil, nil, err
	}
	return s, &contentReader{rr: rr}, nil
}

func readEnvelope(rr *recordReader) (*Submission, error) {
	s := &Submission{}
	seen := map[byte]bool{}
	start := rr.left
	for {
		next, err := rr.br.Peek(1)
		if err != nil {
			return nil, readErr(err)
		}
		if next[0] == recContent || next[0] == recEnd {
			break
		}
		typ, n, err := rr.header(maxField)
		if err != nil {
			return nil, err
		}
		if start-rr.left > maxEnvelope {
			return nil, malformed("envelope longer than %d bytes", maxEnvelope)
		}
		p, err := rr.readFull(n, true)
		if err != nil {
			return nil, err
		}
		if seen[typ] && typ != recRcpt {
			return nil, malformed("duplicate record %q", typ)
		}
		seen[typ] = true
		v := string(p)
		switch typ {
		case recSender:
			s.Sender = v
		case recFullName:
			s.FullName = v
		case recRcpt:
			s.Recipients = append(s.Recipients, v)
		case recNotify:
			s.Notify = v
		case recRet:
			s.Ret = v
		case recEnvID:
			s.EnvID = v
		case recFlags:
			f, k := binary.Uvarint(p)
			if k != len(p) || f&^flagEightBit != 0 {
				return nil, malformed("bad flags")
			}
			s.EightBit = f&flagEightBit != 0
		default:
			return nil, malformed("unexpected record %q", typ)
		}
	}
	if !seen[recSender] {
		return nil, malformed("no sender")
	}
	return s, nil
}

// validate refuses values that sendmail never writes; addresses are
// checked by pickup, which knows the address syntax rules.
func (s *Submission) validate() error {
	if len(s.Recipients) == 0 {
		return malformed("no recipients")
	}
	for _, v := range append([]string{s.Sender, s.FullName, s.Notify, s.Ret, s.EnvID}, s.Recipients...) {
		if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return malformed("control character in the envelope")
		}
	}
	if slices.Contains(s.Recipients, "") {
		return malformed("empty recipient")
	}
	if s.Ret != "" && s.Ret != "FULL" && s.Ret != "HDRS" {
		return malformed("bad RET %q", s.Ret)
	}
	if s.Notify != "" && CanonicalNotify(s.Notify) != s.Notify {
		return malformed("bad NOTIFY %q", s.Notify)
	}
	if len(s.EnvID) > 100 || strings.ContainsFunc(s.EnvID, func(r rune) bool { return r > '~' }) {
		return malformed("bad ENVID")
	}
	return nil
}

// CanonicalNotify returns a DSN NOTIFY list (sendmail -N: "never", or
// any of "success", "delay", "failure", separated by commas or blanks)
// in the queue's form, "NEVER" or e.g. "SUCCESS,DELAY", and "" when it
// is invalid.
func CanonicalNotify(v string) string {
	var on [3]bool
	never := false
	for item := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		switch strings.ToUpper(item) {
		case "NEVER":
			never = true
		case "SUCCESS":
			on[0] = true
		case "FAILURE":
			on[1] = true
		case "DELAY":
			on[2] = true
		default:
			return ""
		}
	}
	if never {
		if on != [3]bool{} {
			return ""
		}
		return "NEVER"
	}
	var list []string
	for i, name := range []string{"SUCCESS", "FAILURE", "DELAY"} {
		if on[i] {
			list = append(list, name)
		}
	}
	return strings.Join(list, ",")
}

// contentReader returns the payloads of the M records and checks the E
// record at their end.
type contentReader struct {
	rr      *recordReader
	pending []byte
	got     int64
	err     error
}

func (c *contentReader) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		c.err = c.next()
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// next reads one record: content into pending, or the end (io.EOF when
// it is sound).
func (c *contentReader) next() error {
	typ, n, err := c.rr.header(chunkSize + binary.MaxVarintLen64 + crcLen)
	if err != nil {
		return err
	}
	switch typ {
	case recContent:
		if n > chunkSize {
			return malformed("content record of %d bytes", n)
		}
		p, err := c.rr.readFull(n, true)
		if err != nil {
			return err
		}
		c.got += int64(n)
		c.pending = p
		return nil
	case recEnd:
		if n <= crcLen {
			return malformed("bad end record")
		}
		p, err := c.rr.readFull(n-crcLen, true)
		if err != nil {
			return err
		}
		size, k := binary.Uvarint(p)
		if k != len(p) || int64(size) != c.got {
			return malformed("content is %d bytes, the end record says %d", c.got, size)
		}
		want := c.rr.crc.Sum32()
		sum, err := c.rr.readFull(crcLen, false)
		if err != nil {
			return err
		}
		if binary.BigEndian.Uint32(sum) != want {
			return malformed("checksum mismatch")
		}
		if c.rr.left != 0 {
			return malformed("%d bytes after the end record", c.rr.left)
		}
		return io.EOF
	}
	return malformed("unexpected record %q in the content", typ)
}
