package smtpio

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// chunkStep is one BDAT exchange: the chunk read, then the next command.
type chunkStep struct {
	size, max int64
	last      bool
	out       string
	err       error
	next      string
}

func TestReadChunk(t *testing.T) {
	big := strings.Repeat("z", 3*bufSize+17)
	cases := []struct {
		name  string
		mode  BareNewline
		in    string
		steps []chunkStep
	}{
		{"exact", Normalize, "abc\r\ndefBDAT 3 LAST\r\nxyzQUIT\r\n", []chunkStep{
			{8, -1, false, "abc\r\ndef", nil, "BDAT 3 LAST"},
			{3, -1, true, "xyz", nil, "QUIT"},
		}},
		{"no unstuffing", Normalize, "..\r\n.\r\nNOOP\r\n", []chunkStep{
			{7, -1, true, "..\r\n.\r\n", nil, "NOOP"},
		}},
		{"oversized", Normalize, big + "NOOP\r\n", []chunkStep{
			{int64(len(big)), 10, true, big[:10], ErrTooBig, "NOOP"},
		}},
		{"exactly at limit", Normalize, "12345NOOP\r\n", []chunkStep{
			{5, 5, true, "12345", nil, "NOOP"},
		}},
		{"zero size", Normalize, "NOOP\r\n", []chunkStep{{0, 0, true, "", nil, "NOOP"}}},
		{"bare LF normalised", Normalize, "a\nb\r\nNOOP\r\n", []chunkStep{
			{5, -1, true, "a\r\nb\r\n", nil, "NOOP"},
		}},
		{"bare LF rejected", Reject, "a\nb\r\nNOOP\r\n", []chunkStep{
			{5, -1, true, "", ErrBareLF, "NOOP"},
		}},
		{"bare LF legacy", Allow, "a\nBDAT 1\r\n\n", []chunkStep{
			{2, -1, false, "a\r\n", nil, "BDAT 1"},
		}},
		{"CRLF across chunks", Reject, "a\rBDAT 2 LAST\r\n\nbNOOP\r\n", []chunkStep{
			{2, -1, false, "a\r", nil, "BDAT 2 LAST"},
			{2, -1, true, "\nb", nil, "NOOP"},
		}},
		{"CR then not LF", Reject, "a\rBDAT 1 LAST\r\nbNOOP\r\n", []chunkStep{
			{2, -1, false, "a\r", nil, "BDAT 1 LAST"},
			{1, -1, true, "", ErrBareCR, "NOOP"},
		}},
		{"trailing CR at LAST", Reject, "a\rNOOP\r\n", []chunkStep{
			{2, -1, true, "a\r", ErrBareCR, "NOOP"},
		}},
		{"short stream", Normalize, "abc", []chunkStep{
			{5, -1, true, "abc", io.ErrUnexpectedEOF, ""},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachFeeder(t, tc.in, func(t *testing.T, src io.Reader) {
				r := NewReader(src, tc.mode)
				for i, s := range tc.steps {
					var out bytes.Buffer
					n, err := r.ReadChunk(&out, s.size, s.max, s.last)
					// After a Reject-mode violation the output is partial,
					// and how much depends on how the reads split.
					partial := errors.Is(err, ErrBareLF) || errors.Is(err, ErrBareCR)
					if (out.String() != s.out && !partial) || n != int64(out.Len()) || !errors.Is(err, s.err) {
						t.Fatalf("chunk %d: got %.40q, %d, %v; want %.40q, %v", i, out.String(), n, err, s.out, s.err)
					}
					if s.next == "" {
						continue
					}
					if cmd, err := r.ReadCommand(512); cmd != s.next || err != nil {
						t.Fatalf("chunk %d: next command %q, %v", i, cmd, err)
					}
				}
			})
		})
	}
}

func TestReadChunkStats(t *testing.T) {
	r := NewReader(strings.NewReader("a\nb\rc\r\n"), Normalize)
	if _, err := r.ReadChunk(io.Discard, 7, -1, true); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s != (Stats{BareLF: 1, BareCR: 1}) {
		t.Fatalf("%+v", s)
	}
}

// A stale <CR> from an abandoned BDAT transaction must not join the
// first <LF> of the next message.
func TestEndMessage(t *testing.T) {
	r := NewReader(strings.NewReader("a\r\nb"), Normalize)
	r.ReadChunk(io.Discard, 2, -1, false)
	r.EndMessage()
	var out bytes.Buffer
	r.ReadChunk(&out, 2, -1, true)
	if out.String() != "\r\nb" {
		t.Fatalf("%q", out.String())
	}
}
