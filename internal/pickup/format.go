package pickup

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// Submission is the envelope of a locally submitted message, as sendmail
// writes it into the maildrop. Nothing in it identifies the submitter:
// pickup takes the uid from the file's owner.
type Submission struct {
	Sender     string   // envelope sender as given (-f), "" for the null sender <>
	FullName   string   // for a generated From: header (-F, $NAME, GECOS)
	Recipients []string // SMTP form (quoted local part where needed), maybe unqualified
	Notify     string   // NOTIFY for every recipient: NEVER, or a comma list of SUCCESS, FAILURE, DELAY; "" = default
	Ret        string   // FULL, HDRS or ""
	EnvID      string   // DSN envelope ID
	EightBit   bool     // -B 8BITMIME
}

// The maildrop file format (see doc.go).
const (
	fileMagic     = "POSTERN-MAILDROP\n"
	formatVersion = 1
	chunkSize     = 64 << 10 // content bytes per M record
	maxField      = 4096     // longest envelope string
	maxEnvelope   = 16 << 20 // all envelope records together
	crcLen        = 4
)

// Record types.
const (
	recVersion  = 'V'
	recSender   = 'S'
	recFullName = 'F'
	recRcpt     = 'R'
	recNotify   = 'N'
	recRet      = 'T'
	recEnvID    = 'I'
	recFlags    = 'B'
	recContent  = 'M'
	recEnd      = 'E'
)

const flagEightBit = 1

// ErrMalformed reports a maildrop file that is not one sendmail writes:
// pickup removes such files, as Postfix's pickup does.
var ErrMalformed = errors.New("malformed maildrop file")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

func appendRecord(b []byte, typ byte, payload []byte) []byte {
	b = append(b, typ)
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// envelope encodes everything before the content.
func (s *Submission) envelope() ([]byte, error) {
	b := append([]byte(fileMagic), appendRecord(nil, recVersion, binary.AppendUvarint(nil, formatVersion))...)
	tooLong := false
	add := func(typ byte, v string) {
		tooLong = tooLong || len(v) > maxField
		b = appendRecord(b, typ, []byte(v))
	}
	add(recSender, s.Sender)
	if s.FullName != "" {
		add(recFullName, s.FullName)
	}
	for _, r := range s.Recipients {
		add(recRcpt, r)
	}
	for _, f := range []struct {
		typ byte
		v   string
	}{{recNotify, s.Notify}, {recRet, s.Ret}, {recEnvID, s.EnvID}} {
		if f.v != "" {
			add(f.typ, f.v)
		}
	}
	if s.EightBit {
		b = appendRecord(b, recFlags, binary.AppendUvarint(nil, flagEightBit))
	}
	if tooLong {
		return nil, fmt.Errorf("envelope field longer than %d bytes", maxField)
	}
	if len(b) > maxEnvelope {
		return nil, fmt.Errorf("envelope longer than %d bytes", maxEnvelope)
	}
	return b, nil
}

// Writer writes one maildrop file: the envelope at once, the content as
// it is written, and the end record (content size and a checksum of the
// whole file) at Close.
type Writer struct {
	w    *bufio.Writer
	crc  hash.Hash32
	buf  []byte
	size int64
	err  error
}

// NewWriter writes the envelope of s to w.
func NewWriter(w io.Writer, s *Submission) (*Writer, error) {
	env, err := s.envelope()
	if err != nil {
		return nil, err
	}
	fw := &Writer{w: bufio.NewWriterSize(w, 32<<10), crc: crc32.New(castagnoli), buf: make([]byte, 0, chunkSize)}
	fw.emit(env)
	return fw, fw.err
}

func (fw *Writer) emit(p []byte) {
	if fw.err == nil {
		fw.crc.Write(p)
		_, fw.err = fw.w.Write(p)
	}
}

// Write adds content.
func (fw *Writer) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && fw.err == nil {
		k := min(len(p), chunkSize-len(fw.buf))
		fw.buf = append(fw.buf, p[:k]...)
		p = p[k:]
		if len(fw.buf) == chunkSize {
			fw.flushChunk()
		}
	}
	if fw.err != nil {
		return 0, fw.err
	}
	fw.size += int64(n)
	return n, nil
}

func (fw *Writer) flushChunk() {
	if len(fw.buf) > 0 {
		fw.emit(appendRecord(nil, recContent, fw.buf))
		fw.buf = fw.buf[:0]
	}
}

// Size is the number of content bytes written so far.
func (fw *Writer) Size() int64 { return fw.size }

// Close writes the end record and flushes; it does not close the
// underlying writer.
func (fw *Writer) Close() error {
	fw.flushChunk()
	end := binary.AppendUvarint(nil, uint64(fw.size))
	hdr := binary.AppendUvarint([]byte{recEnd}, uint64(len(end)+crcLen))
	fw.emit(append(hdr, end...))
	if fw.err == nil {
		_, fw.err = fw.w.Write(binary.BigEndian.AppendUint32(nil, fw.crc.Sum32()))
	}
	if fw.err == nil {
		fw.err = fw.w.Flush()
	}
	return fw.err
}
