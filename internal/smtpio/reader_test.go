package smtpio

import (
	"bufio"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
)

type cmdWant struct {
	line string
	err  error
}

func TestReadCommand(t *testing.T) {
	long := strings.Repeat("a", 1<<20)
	edge := strings.Repeat("b", bufSize-1) // its <CR> ends the first fill
	cases := []struct {
		name string
		max  int
		in   string
		want map[BareNewline][]cmdWant
	}{
		{"plain", 512, "EHLO x\r\nQUIT\r\n", same(cmdWant{"EHLO x", nil}, cmdWant{"QUIT", nil}, cmdWant{"", io.EOF})},
		{"bare LF", 512, "EHLO x\nQUIT\r\n", map[BareNewline][]cmdWant{
			Normalize: {{"EHLO x", nil}, {"QUIT", nil}},
			Reject:    {{"", ErrBareLF}, {"QUIT", nil}},
			Allow:     {{"EHLO x", nil}, {"QUIT", nil}},
		}},
		{"CR CR LF", 512, "EHLO x\r\r\n", map[BareNewline][]cmdWant{
			Normalize: {{"EHLO x\r", nil}},
			Reject:    {{"EHLO x\r", nil}},
			Allow:     {{"EHLO x", nil}},
		}},
		{"bare CR kept", 512, "EHLO a\rb\r\n", same(cmdWant{"EHLO a\rb", nil})},
		{"NUL kept", 512, "EHLO a\x00b\r\n", same(cmdWant{"EHLO a\x00b", nil})},
		{"exactly max", 4, "abcd\r\nabcde\r\nNOOP\r\n",
			same(cmdWant{"abcd", nil}, cmdWant{"", ErrLineTooLong}, cmdWant{"NOOP", nil})},
		{"max zero", 0, "\r\nx\r\n", same(cmdWant{"", nil}, cmdWant{"", ErrLineTooLong})},
		{"1 MB line", 2048, long + "\r\nNOOP\r\n", same(cmdWant{"", ErrLineTooLong}, cmdWant{"NOOP", nil})},
		{"1 MB bare LF line", 2048, long + "\nNOOP\r\n", same(cmdWant{"", ErrLineTooLong}, cmdWant{"NOOP", nil})},
		{"CRLF across fills", bufSize, edge + "\r\nNOOP\r\n", same(cmdWant{edge, nil}, cmdWant{"NOOP", nil})},
		{"one over across fills", bufSize - 2, edge + "\r\nNOOP\r\n", same(cmdWant{"", ErrLineTooLong}, cmdWant{"NOOP", nil})},
		{"EOF in line", 512, "NOOP", same(cmdWant{"", io.ErrUnexpectedEOF})},
		{"EOF after CR", 512, "NOOP\r", same(cmdWant{"", io.ErrUnexpectedEOF})},
		{"clean EOF", 512, "", same(cmdWant{"", io.EOF})},
	}
	for _, tc := range cases {
		for mode, wants := range tc.want {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				forEachFeeder(t, tc.in, func(t *testing.T, src io.Reader) {
					r := NewReader(src, mode)
					for i, w := range wants {
						got, err := r.ReadCommand(tc.max)
						if got != w.line || !errors.Is(err, w.err) {
							t.Fatalf("read %d: got %.40q, %v; want %.40q, %v", i, got, err, w.line, w.err)
						}
					}
				})
			})
		}
	}
}

// same expects the same results in every mode.
func same(w ...cmdWant) map[BareNewline][]cmdWant {
	return map[BareNewline][]cmdWant{Normalize: w, Reject: w, Allow: w}
}

// An overlong line costs at most about max bytes, never its own length.
func TestReadCommandBoundedMemory(t *testing.T) {
	in := strings.Repeat("a", 8<<20) + "\r\nNOOP\r\n"
	r := NewReader(strings.NewReader(in), Normalize)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := r.ReadCommand(2048); !errors.Is(err, ErrLineTooLong) {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
		t.Fatalf("allocated %d bytes for a 2048-byte limit", got)
	}
	if got, err := r.ReadCommand(2048); got != "NOOP" || err != nil {
		t.Fatal(got, err)
	}
}

func TestStatsAndMode(t *testing.T) {
	r := NewReader(strings.NewReader("A\nB\r\nC\n"), Normalize)
	r.ReadCommand(512)
	r.ReadCommand(512)
	r.SetMode(Reject)
	if r.Mode() != Reject {
		t.Fatal(r.Mode())
	}
	if _, err := r.ReadCommand(512); !errors.Is(err, ErrBareLF) {
		t.Fatal(err)
	}
	if s := r.Stats(); s.BareLF != 2 {
		t.Fatalf("%+v", s)
	}
}

// After STARTTLS, plaintext the client pipelined behind the command must
// be dropped, and reading continues from the TLS connection.
func TestStartTLSDiscardAndReset(t *testing.T) {
	r := NewReader(strings.NewReader("STARTTLS\r\nMAIL FROM:<evil>\r\n"), Normalize)
	if cmd, _ := r.ReadCommand(512); cmd != "STARTTLS" {
		t.Fatal(cmd)
	}
	if r.Buffered() == 0 {
		t.Fatal("pipelined plaintext not seen")
	}
	r.Discard()
	if r.Buffered() != 0 {
		t.Fatal(r.Buffered())
	}
	r.Reset(strings.NewReader("EHLO x\r\n"))
	if cmd, err := r.ReadCommand(512); cmd != "EHLO x" || err != nil {
		t.Fatal(cmd, err)
	}
}

// The Reader never shares a caller's bufio.Reader: Discard and Reset
// must not reach into someone else's buffer.
func TestOwnBuffer(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("x\r\n"), 8192)
	if r := NewReader(br, Normalize); r.br == br || r.br.Size() != bufSize {
		t.Fatal("buffer shared or wrong size")
	}
}

func TestParseBareNewline(t *testing.T) {
	for in, want := range map[string]BareNewline{
		"normalize": Normalize, "yes": Normalize, "note": Normalize,
		"Reject": Reject, "no": Allow,
	} {
		if got, err := ParseBareNewline(in); got != want || err != nil {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	if _, err := ParseBareNewline("maybe"); err == nil {
		t.Error("bad value accepted")
	}
}

// Extreme limits must neither overflow nor allocate by the limit.
func TestReadCommandExtremeMax(t *testing.T) {
	in := strings.Repeat("c", 3*bufSize) + "\r\nx\r\n"
	for _, max := range []int{-1, 1<<63 - 1} {
		r := NewReader(strings.NewReader(in), Normalize)
		got, err := r.ReadCommand(max)
		if max < 0 && !errors.Is(err, ErrLineTooLong) || max > 0 && (err != nil || len(got) != 3*bufSize) {
			t.Fatalf("max %d: %d bytes, %v", max, len(got), err)
		}
	}
}

// timeoutOnce fails its first read, as a TLS connection whose read
// deadline has passed does, then serves r.
type timeoutOnce struct {
	failed bool
	r      io.Reader
}

func (s *timeoutOnce) Read(p []byte) (int, error) {
	if !s.failed {
		s.failed = true
		return 0, os.ErrDeadlineExceeded
	}
	return s.r.Read(p)
}

// Fill reads once: what it got is seen by Peek and read as the next
// command; an error is returned and does not stick.
func TestFill(t *testing.T) {
	r := NewReader(&timeoutOnce{r: strings.NewReader("NOOP\r\nQUIT\r\n")}, Normalize)
	if err := r.Fill(); !errors.Is(err, os.ErrDeadlineExceeded) || r.Buffered() != 0 {
		t.Fatalf("Fill = %v, %d buffered", err, r.Buffered())
	}
	if err := r.Fill(); err != nil || string(r.Peek(100)) != "NOOP\r\nQUIT\r\n" {
		t.Fatalf("Fill = %v, peek %q", err, r.Peek(100))
	}
	if err := r.Fill(); err != nil {
		t.Fatalf("Fill with data buffered: %v", err)
	}
	for _, want := range []string{"NOOP", "QUIT"} {
		if l, err := r.ReadCommand(100); l != want || err != nil {
			t.Fatalf("got %q, %v; want %q", l, err, want)
		}
	}
}
