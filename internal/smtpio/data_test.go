package smtpio

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

type dataCase struct {
	name string
	in   string
	// Per mode: the content written, the error, what is left unread.
	want map[BareNewline]dataWant
}

type dataWant struct {
	out  string
	err  error
	rest string
}

// all gives the same expectation for every mode.
func all(w dataWant) map[BareNewline]dataWant {
	return map[BareNewline]dataWant{Normalize: w, Reject: w, Allow: w}
}

const smuggled = "MAIL FROM:<evil@x>\r\n"

var dataCases = []dataCase{
	{"plain", "a\r\nb\r\n.\r\nQUIT\r\n", all(dataWant{"a\r\nb\r\n", nil, "QUIT\r\n"})},
	{"empty message", ".\r\nQUIT\r\n", all(dataWant{"", nil, "QUIT\r\n"})},
	{"unstuffing", "..a\r\n...\r\n..\r\n.b\r\n.\r\n", all(dataWant{".a\r\n..\r\n.\r\nb\r\n", nil, ""})},
	{"dot inside line", "abc.\r\n.\r\n", all(dataWant{"abc.\r\n", nil, ""})},
	{"NUL bytes", "a\x00b\r\n\x00\r\n.\r\n", all(dataWant{"a\x00b\r\n\x00\r\n", nil, ""})},
	{"LF.LF", "a\n.\n" + smuggled + ".\r\n", map[BareNewline]dataWant{
		Normalize: {"a\r\n.\r\n" + smuggled, nil, ""},
		Reject:    {"a", ErrBareLF, ""},
		Allow:     {"a\r\n", nil, smuggled + ".\r\n"},
	}},
	{"LF.CRLF", "a\n.\r\n" + smuggled + ".\r\n", map[BareNewline]dataWant{
		Normalize: {"a\r\n.\r\n" + smuggled, nil, ""},
		Reject:    {"a", ErrBareLF, ""},
		Allow:     {"a\r\n", nil, smuggled + ".\r\n"},
	}},
	{"CRLF.LF", "a\r\n.\n" + smuggled + ".\r\n", map[BareNewline]dataWant{
		Normalize: {"a\r\n.\r\n" + smuggled, nil, ""},
		Reject:    {"a\r\n.", ErrBareLF, ""},
		Allow:     {"a\r\n", nil, smuggled + ".\r\n"},
	}},
	{"CR.CR", "a\r.\r" + smuggled + ".\r\n", map[BareNewline]dataWant{
		Normalize: {"a\r.\r" + smuggled, nil, ""},
		Reject:    {"", ErrBareCR, ""},
		Allow:     {"a\r.\r" + smuggled, nil, ""},
	}},
	{"CRLF.CR", "a\r\n.\r" + smuggled + ".\r\n", map[BareNewline]dataWant{
		Normalize: {"a\r\n\r" + smuggled, nil, ""},
		Reject:    {"a\r\n", ErrBareCR, ""},
		Allow:     {"a\r\n\r" + smuggled, nil, ""},
	}},
	{"CR CR LF before dot", "a\r\r\n.\r\n", map[BareNewline]dataWant{
		Normalize: {"a\r\r\n", nil, ""},
		Reject:    {"a", ErrBareCR, ""},
		Allow:     {"a\r\n", nil, ""},
	}},
	{"dot CR CR LF", "a\r\n.\r\r\n.\r\n", map[BareNewline]dataWant{
		Normalize: {"a\r\n\r\r\n", nil, ""},
		Reject:    {"a\r\n", ErrBareCR, ""},
		Allow:     {"a\r\n", nil, ".\r\n"},
	}},
	{"bare LF lines", "a\nb\r\n.\r\n", map[BareNewline]dataWant{
		Normalize: {"a\r\nb\r\n", nil, ""},
		Reject:    {"a", ErrBareLF, ""},
		Allow:     {"a\r\nb\r\n", nil, ""},
	}},
	{"no end", "abc.\r\n", all(dataWant{"abc.\r\n", io.ErrUnexpectedEOF, ""})},
	{"no line end", "abc", all(dataWant{"", io.ErrUnexpectedEOF, ""})},
	{"nothing", "", all(dataWant{"", io.ErrUnexpectedEOF, ""})},
}

func TestReadData(t *testing.T) {
	for _, tc := range dataCases {
		for mode, want := range tc.want {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				forEachFeeder(t, tc.in, func(t *testing.T, src io.Reader) {
					r := NewReader(src, mode)
					var out bytes.Buffer
					n, err := r.ReadData(&out, -1)
					if !errors.Is(err, want.err) || out.String() != want.out || n != int64(out.Len()) {
						t.Fatalf("got %q, %d, %v; want %q, %v", out.String(), n, err, want.out, want.err)
					}
					if got := rest(r); got != want.rest {
						t.Fatalf("left %q, want %q", got, want.rest)
					}
				})
			})
		}
	}
}

// After a DATA command that ended in a bare <LF>, "." <CR><LF> is not
// preceded by <CR><LF> and so does not end the data.
func TestReadDataAfterBareLFCommand(t *testing.T) {
	r := NewReader(strings.NewReader("DATA\n.\r\nx\r\n.\r\n"), Normalize)
	if cmd, err := r.ReadCommand(512); cmd != "DATA" || err != nil {
		t.Fatal(cmd, err)
	}
	var out bytes.Buffer
	if _, err := r.ReadData(&out, -1); err != nil || out.String() != ".\r\nx\r\n" {
		t.Fatalf("%q %v", out.String(), err)
	}
}

func TestReadDataSizeLimit(t *testing.T) {
	const in = "abcd\r\n.\r\nNOOP\r\n" // 6 bytes of content
	for _, tc := range []struct {
		max  int64
		n    int64
		want error
	}{{5, 5, ErrTooBig}, {6, 6, nil}, {7, 6, nil}, {0, 0, ErrTooBig}, {-1, 6, nil}} {
		forEachFeeder(t, in, func(t *testing.T, src io.Reader) {
			r := NewReader(src, Normalize)
			var out bytes.Buffer
			n, err := r.ReadData(&out, tc.max)
			if n != tc.n || !errors.Is(err, tc.want) || int64(out.Len()) != n {
				t.Fatalf("max %d: got %d, %v; want %d, %v", tc.max, n, err, tc.n, tc.want)
			}
			if cmd, err := r.ReadCommand(512); cmd != "NOOP" || err != nil {
				t.Fatalf("next command %q, %v", cmd, err)
			}
		})
	}
}

func TestReadDataLongLines(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	// A <CR> at the very end of a buffer fill, then <LF> or not.
	split := strings.Repeat("y", bufSize-1)
	cases := []struct{ in, out string }{
		{long + "\r\n.\r\n", long + "\r\n"},
		{"." + long + "\r\n..\r\n.\r\n", long + "\r\n.\r\n"},
		{long + "\n" + long + "\r\n.\r\n", long + "\r\n" + long + "\r\n"},
		{split + "\r\n.\r\n", split + "\r\n"},
		{split + "\rz\r\n.\r\n", split + "\rz\r\n"},
		{long + "\r\n.\nz\r\n.\r\n", long + "\r\n.\r\nz\r\n"},
	}
	for _, tc := range cases {
		forEachFeeder(t, tc.in, func(t *testing.T, src io.Reader) {
			r := NewReader(src, Normalize)
			var out bytes.Buffer
			if _, err := r.ReadData(&out, -1); err != nil || out.String() != tc.out {
				t.Fatalf("err %v, output of %d bytes, want %d", err, out.Len(), len(tc.out))
			}
		})
	}
}

func TestReadDataStats(t *testing.T) {
	r := NewReader(strings.NewReader("a\nb\rc\r\n.\r\n"), Normalize)
	if _, err := r.ReadData(io.Discard, -1); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s != (Stats{BareLF: 1, BareCR: 1}) {
		t.Fatalf("%+v", s)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// A failing destination does not desynchronise the session.
func TestReadDataWriteError(t *testing.T) {
	r := NewReader(strings.NewReader("a\r\nb\r\n.\r\nRSET\r\n"), Normalize)
	_, err := r.ReadData(&failWriter{n: 3}, -1)
	var we *WriteError
	if !errors.As(err, &we) {
		t.Fatalf("%v", err)
	}
	if cmd, err := r.ReadCommand(512); cmd != "RSET" || err != nil {
		t.Fatalf("%q %v", cmd, err)
	}
}

func TestPipelinedAfterData(t *testing.T) {
	r := NewReader(strings.NewReader("x\r\n.\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\n"), Normalize)
	if _, err := r.ReadData(io.Discard, -1); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() != len("MAIL FROM:<a>\r\nRCPT TO:<b>\r\n") {
		t.Fatalf("buffered %d", r.Buffered())
	}
	for _, want := range []string{"MAIL FROM:<a>", "RCPT TO:<b>"} {
		if got, err := r.ReadCommand(512); got != want || err != nil {
			t.Fatalf("%q %v", got, err)
		}
	}
}
