package straycrlf

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// The cases are what Postfix 3.7.11 (cleanup_replace_stray_cr_lf = yes)
// stored for the same content after smtpd had taken the line ends.
var cases = []struct{ in, want string }{
	{"a\rb\r\n", "a b\r\n"},
	{"x\r\r\n", "x \r\n"},
	{"z\r", "z "},
	{"z\r.\rMAIL FROM:<evil3@example.test>\r\n", "z . MAIL FROM:<evil3@example.test>\r\n"},
	{"\rMAIL FROM:<evil4@example.test>\r\n", " MAIL FROM:<evil4@example.test>\r\n"},
	{"v\r.\r\nMAIL FROM:<evil5@example.test>\r\n", "v .\r\nMAIL FROM:<evil5@example.test>\r\n"},
	{"a\nb\r\n", "a b\r\n"},
	{"\n\r\n\r", " \r\n "},
	{"\r\n\r\n", "\r\n\r\n"},
	{"", ""},
	{"clean\r\nlines\r\n", "clean\r\nlines\r\n"},
}

func TestReplace(t *testing.T) {
	for _, c := range cases {
		p := []byte(c.in)
		Replace(p)
		if string(p) != c.want {
			t.Errorf("Replace(%q) = %q, want %q", c.in, p, c.want)
		}
	}
}

func TestReader(t *testing.T) {
	for _, c := range cases {
		for name, r := range map[string]io.Reader{
			"whole":   bytes.NewReader([]byte(c.in)),
			"onebyte": iotest.OneByteReader(bytes.NewReader([]byte(c.in))),
			"dataerr": iotest.DataErrReader(bytes.NewReader([]byte(c.in))),
		} {
			got, err := io.ReadAll(NewReader(r))
			if err != nil || string(got) != c.want {
				t.Errorf("%s: Reader(%q) = %q, %v; want %q", name, c.in, got, err, c.want)
			}
		}
	}
	if err := iotest.TestReader(NewReader(bytes.NewReader([]byte("a\r\nb\rc\n\r"))), []byte("a\r\nb c  ")); err != nil {
		t.Error(err)
	}
}

// reference judges each byte by its neighbours, the rule itself.
func reference(in []byte) []byte {
	out := append([]byte(nil), in...)
	for i, c := range in {
		if c == '\r' && (i+1 == len(in) || in[i+1] != '\n') || c == '\n' && (i == 0 || in[i-1] != '\r') {
			out[i] = ' '
		}
	}
	return out
}

// FuzzReader: whatever the content and however it is split into reads,
// the Reader gives what the rule gives for the whole, and so does
// Replace; nothing stray is left and no byte moves.
func FuzzReader(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c.in), uint8(3), uint8(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk, readSize uint8) {
		want := reference(in)
		p := append([]byte(nil), in...)
		Replace(p)
		if !bytes.Equal(p, want) {
			t.Fatalf("Replace(%q) = %q, want %q", in, p, want)
		}
		src := &chunked{data: in, n: int(chunk%17) + 1}
		z := NewReader(src)
		var got []byte
		buf := make([]byte, int(readSize%9)+1)
		for {
			n, err := z.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("Reader(%q) = %q, want %q", in, got, want)
		}
		if !bytes.Equal(reference(got), got) {
			t.Fatalf("stray bytes left in %q", got)
		}
	})
}

// chunked returns at most n bytes per Read, and sometimes none.
type chunked struct {
	data  []byte
	n     int
	calls int
}

func (c *chunked) Read(p []byte) (int, error) {
	c.calls++
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	if c.calls%3 == 0 {
		return 0, nil
	}
	n := copy(p, c.data[:min(c.n, len(c.data))])
	c.data = c.data[n:]
	return n, nil
}
