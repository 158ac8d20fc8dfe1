package smtpio

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// message1MB is about 1 MB of 76-character lines, every 50th starting
// with a stuffed period, then the end-of-data line.
func message1MB() []byte {
	var b bytes.Buffer
	line := strings.Repeat("abcdefghij", 7) + "klmnop\r\n"
	for i := 0; b.Len() < 1<<20; i++ {
		if i%50 == 0 {
			b.WriteString(".")
		}
		b.WriteString(line)
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

func BenchmarkReadData(b *testing.B) {
	msg := message1MB()
	src := bytes.NewReader(msg)
	r := NewReader(src, Normalize)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(msg)
		r.Reset(src)
		if _, err := r.ReadData(io.Discard, -1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadChunk(b *testing.B) {
	msg := message1MB()
	src := bytes.NewReader(msg)
	r := NewReader(src, Normalize)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(msg)
		r.Reset(src)
		if _, err := r.ReadChunk(io.Discard, int64(len(msg)), -1, true); err != nil {
			b.Fatal(err)
		}
	}
}
