package local

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/postern-mta/postern/internal/deliver"
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
		if got := quoteAddr(in); got != want {
			t.Errorf("quoteAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnreadableContentDefers(t *testing.T) {
	e := newEnv(t)
	req := request(testBody, "alice@example.test")
	req.Content = func() (io.ReadCloser, error) { return nil, errors.New("queue file vanished") }
	res := e.agent().Deliver(context.Background(), req)
	expect(t, res[0], deliver.Deferred, "4.3.0", "error reading message: queue file vanished")
}

func TestForwardNotify(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "SUCCESS": "NEVER", "SUCCESS,FAILURE": "FAILURE", "FAILURE,DELAY": "FAILURE,DELAY", "NEVER": "NEVER",
	} {
		if got := forwardNotify(in); got != want {
			t.Errorf("forwardNotify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCensor(t *testing.T) {
	if got := censor("a b;c$(x)`y`@d.test+ext=1\n\xc3\xa9"); got != "a_b_c__x__y_@d.test+ext=1___" {
		t.Errorf("%q", got)
	}
}

func TestStrerror(t *testing.T) {
	if got := strerror(&wrapped{syscall.ENOENT}); got != "No such file or directory" {
		t.Errorf("%q", got)
	}
	if got := strerror(errors.New("plain")); got != "plain" {
		t.Errorf("%q", got)
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "context: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

// A small message is read from the queue once for the loop check and
// every copy; a large one, or one longer than Request.Size said, is read
// again for each use. Every copy is complete either way.
func TestContentReadOnceWhenSmall(t *testing.T) {
	small := testBody
	large := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("b", 98)+"\r\n", memContent/100+10)
	tests := []struct {
		name  string
		body  string
		size  int64 // Request.Size
		opens int   // Content calls for three recipients
	}{
		{"small", small, int64(len(small)), 1},
		{"large", large, int64(len(large)), 1 + 3},  // the loop check, then each copy
		{"size understated", large, 100, 1 + 1 + 3}, // the load gives up, then as large
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.HomeMailbox = "Maildir/"
			req := request(tt.body, "alice@example.test", "bob@example.test", "ALICE@example.test")
			req.Size = tt.size
			opens := 0
			req.Content = func() (io.ReadCloser, error) { opens++; return io.NopCloser(strings.NewReader(tt.body)), nil }
			for _, r := range e.agent().Deliver(context.Background(), req) {
				expect(t, r, deliver.Sent, "2.0.0", "delivered to maildir")
			}
			if opens != tt.opens {
				t.Errorf("content opened %d times, want %d", opens, tt.opens)
			}
			for _, user := range []string{"alice", "bob"} {
				files, _ := os.ReadDir(filepath.Join(e.home[user], "Maildir", "new"))
				for _, f := range files {
					got := readFile(t, filepath.Join(e.home[user], "Maildir", "new", f.Name()))
					if want := strings.ReplaceAll(tt.body, "\r\n", "\n"); !strings.HasSuffix(got, "\n\n"+want[strings.Index(want, "\n\n")+2:]) {
						t.Errorf("%s: copy of %d bytes damaged", f.Name(), len(got))
					}
				}
			}
		})
	}
}
