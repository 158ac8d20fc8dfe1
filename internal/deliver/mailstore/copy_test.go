package mailstore

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
)

func TestCopyLF(t *testing.T) {
	long := strings.Repeat("y", 70000) // longer than the read buffer
	tests := []struct {
		name, in, want string
		quote          bool
	}{
		{"CRLF to LF", "a\r\nb\r\n", "a\nb\n", false},
		{"bare LF kept", "a\nb\n", "a\nb\n", false},
		{"final line end added", "a\r\nb", "a\nb\n", false},
		{"empty", "", "", false},
		{"From_ quoted", "From x\r\nFrom\r\n From y\r\nfrom z\r\n>From w\r\n", ">From x\nFrom\n From y\nfrom z\n>From w\n", true},
		{"not quoted for commands", "From x\r\n", "From x\n", false},
		{"long line quoted once", "From " + long + "From more\r\nFrom end\r\n", ">From " + long + "From more\n>From end\n", true},
		{"CR LF across the buffer boundary", strings.Repeat("z", 65535) + "\r\nFrom x\r\n", strings.Repeat("z", 65535) + "\n>From x\n", true},
		{"lone CR kept", "a\rb\r\n", "a\rb\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			if err := copyLF(w, strings.NewReader(tt.in), tt.quote); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			if got := out.String(); got != tt.want {
				if len(got) > 200 {
					t.Errorf("got %d bytes, want %d", len(got), len(tt.want))
				} else {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestLimitWriter(t *testing.T) {
	var b bytes.Buffer
	w := &limitWriter{w: &b, n: 5}
	if n, err := w.Write([]byte("abc")); n != 3 || err != nil {
		t.Fatal(n, err)
	}
	if n, err := w.Write([]byte("defg")); n != 2 || !errors.Is(err, syscall.EFBIG) || b.String() != "abcde" {
		t.Errorf("%d %v %q", n, err, b.String())
	}
	unlimited := &limitWriter{w: io.Discard, n: -1}
	if _, err := unlimited.Write(make([]byte, 1<<20)); err != nil {
		t.Error(err)
	}
}

func TestQuoteAddr(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"a@b.test":        "a@b.test",
		"john doe@b.test": `"john doe"@b.test`,
		`a"b@c`:           `"a\"b"@c`,
		"a@b@c.test":      `"a@b"@c.test`,
	} {
		if got := QuoteAddr(in); got != want {
			t.Errorf("QuoteAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStrerror(t *testing.T) {
	if got := Strerror(&wrapped{syscall.ENOENT}); got != "No such file or directory" {
		t.Errorf("%q", got)
	}
	if got := Strerror(errors.New("plain")); got != "plain" {
		t.Errorf("%q", got)
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "context: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func TestMaildirHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"mx.example.test", "mx.example.test"},
		{"a/b", `a\057b`},
		{"host:25", `host\07225`},
		{"a/b:c", `a\057b\072c`},
		{"", ""},
	} {
		if got := maildirHost(tc.in); got != tc.want {
			t.Errorf("maildirHost(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
