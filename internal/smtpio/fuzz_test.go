package smtpio

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// counting reports how many bytes the Reader took from its source.
type counting struct {
	r io.Reader
	n int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func hasBareCR(p []byte) bool {
	for i, c := range p {
		if c == '\r' && (i+1 == len(p) || p[i+1] != '\n') {
			return true
		}
	}
	return false
}

func FuzzReadData(f *testing.F) {
	for _, tc := range dataCases {
		for m := range 3 {
			f.Add([]byte(tc.in), uint8(m), int32(-1))
		}
	}
	f.Add([]byte("abcd\r\n.\r\n"), uint8(0), int32(5))
	f.Fuzz(func(t *testing.T, in []byte, mode uint8, limit int32) {
		m := BareNewline(mode % 3)
		src := &counting{r: bytes.NewReader(in)}
		r := NewReader(src, m)
		var out bytes.Buffer
		n, err := r.ReadData(&out, int64(limit))
		used := src.n - int64(r.Buffered())
		switch {
		case used < 0 || used > int64(len(in)):
			t.Fatalf("consumed %d of %d bytes", used, len(in))
		case n != int64(out.Len()) || limit >= 0 && n > int64(limit):
			t.Fatalf("wrote %d, reported %d, limit %d", out.Len(), n, limit)
		case bareLFs(out.Bytes()):
			t.Fatalf("bare <LF> in output %q", out.Bytes())
		case err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrTooBig) &&
			!errors.Is(err, ErrBareLF) && !errors.Is(err, ErrBareCR):
			t.Fatalf("unexpected error %v", err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return
		}
		// The end of the data was reached: it must be a real one.
		got := in[:used]
		if m != Allow && !bytes.HasSuffix(got, []byte("\r\n.\r\n")) && string(got) != ".\r\n" {
			t.Fatalf("ended without <CR><LF>.<CR><LF>: %q", got)
		}
		if m == Reject && err == nil && (bareLFs(got) || hasBareCR(got)) {
			t.Fatalf("Reject accepted %q", got)
		}
		if err != nil {
			return
		}
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), crlf) {
			t.Fatalf("output does not end in <CR><LF>: %q", out.Bytes())
		}
		// Sending the output again, dot-stuffed, gives the same content.
		again := NewReader(bytes.NewReader(stuff(out.Bytes())), Normalize)
		var out2 bytes.Buffer
		if _, err := again.ReadData(&out2, -1); err != nil || !bytes.Equal(out2.Bytes(), out.Bytes()) {
			t.Fatalf("round trip: %v\n got %q\nwant %q", err, out2.Bytes(), out.Bytes())
		}
		if again.Buffered() != 0 {
			t.Fatalf("round trip left %d bytes", again.Buffered())
		}
	})
}

func FuzzReadCommand(f *testing.F) {
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a>\nRCPT TO:<b>\r\r\n"), uint8(0), uint16(512))
	f.Add([]byte("a\rb\x00\r\nabcdef\r\nQUIT"), uint8(1), uint16(4))
	f.Add([]byte(strings.Repeat("x", bufSize-1)+"\r\nNOOP\r\n"), uint8(2), uint16(bufSize))
	f.Fuzz(func(t *testing.T, in []byte, mode uint8, max uint16) {
		m := BareNewline(mode % 3)
		src := &counting{r: bytes.NewReader(in)}
		r := NewReader(src, m)
		for i := 0; ; i++ {
			line, err := r.ReadCommand(int(max))
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil && !errors.Is(err, ErrLineTooLong) && !errors.Is(err, ErrBareLF) {
				t.Fatalf("unexpected error %v", err)
			}
			if len(line) > int(max) || strings.IndexByte(line, '\n') >= 0 || err != nil && line != "" {
				t.Fatalf("bad line %q, %v (max %d)", line, err, max)
			}
			if i > len(in) {
				t.Fatal("no progress")
			}
		}
		if used := src.n - int64(r.Buffered()); used != int64(len(in)) {
			t.Fatalf("consumed %d of %d bytes", used, len(in))
		}
	})
}

// FuzzReadChunk checks that where the chunks are cut does not matter.
func FuzzReadChunk(f *testing.F) {
	f.Add([]byte("a\r\nb\nc\rd\r"), uint8(0), uint16(2))
	f.Add([]byte("a\r\nb"), uint8(1), uint16(2))
	f.Fuzz(func(t *testing.T, in []byte, mode uint8, cut uint16) {
		m := BareNewline(mode % 3)
		k := int64(cut) % int64(len(in)+1)
		whole, split := NewReader(bytes.NewReader(in), m), NewReader(bytes.NewReader(in), m)
		var a, b bytes.Buffer
		_, errA := whole.ReadChunk(&a, int64(len(in)), -1, true)
		_, err1 := split.ReadChunk(&b, k, -1, false)
		_, err2 := split.ReadChunk(&b, int64(len(in))-k, -1, true)
		errB := errors.Join(err1, err2)
		if (errA == nil) != (errB == nil) || whole.Stats() != split.Stats() {
			t.Fatalf("cut %d: %v vs %v, %+v vs %+v", k, errA, errB, whole.Stats(), split.Stats())
		}
		if errA == nil && !bytes.Equal(a.Bytes(), b.Bytes()) || bareLFs(a.Bytes()) {
			t.Fatalf("cut %d: %q vs %q", k, a.Bytes(), b.Bytes())
		}
	})
}
