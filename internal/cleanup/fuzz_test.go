package cleanup

import (
	"bytes"
	"io"
	"testing"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/queue"
)

// FuzzMessage: whatever the content, the parsed message gives it back
// byte for byte, every field starts a field line, and a field
// prepended comes out in front of the unchanged content. The seed
// corpus is testdata/fuzz/FuzzMessage.
func FuzzMessage(f *testing.F) {
	for _, s := range corpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sp := NewSpool("")
		sp.Write(in)
		m, err := NewMessage(&queue.Envelope{}, Origin{}, sp)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		got, err := io.ReadAll(m.Content())
		if err != nil || !bytes.Equal(got, in) {
			t.Fatalf("content %q, want %q (%v)", got, in, err)
		}
		for _, f := range m.Header.Fields {
			if !isFieldStart([]byte(f.Raw)) {
				t.Fatalf("field %q", f.Raw)
			}
		}
		m.Header.Prepend("X-Fuzz", "1")
		got, _ = io.ReadAll(m.Content())
		if want := append([]byte("X-Fuzz: 1\r\n"), in...); !bytes.Equal(got, want) {
			t.Fatalf("after Prepend %q, want %q", got, want)
		}
	})
}

// FuzzReplyLines: whatever a stage replies, the client gets reply lines
// of one 4xx or 5xx code, with no control character.
func FuzzReplyLines(f *testing.F) {
	for _, s := range []string{"550 5.7.1 no", "451-4.7.1 a\r\n451 4.7.1 b", "550 x\r\nRSET\r\n", "", "250 ok", "5\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		lines := Verdict{Action: Reject, Reply: reply}.ReplyLines()
		if len(lines) == 0 {
			t.Fatal("no reply")
		}
		if len(lines) > maxReplyLines {
			t.Fatalf("%q: %d lines", reply, len(lines))
		}
		code := lines[0][:3]
		for _, l := range lines {
			if len(l) < 5 || len(l) > maxReplyLine || !utf8.ValidString(l) || l[:3] != code || l[3] != ' ' || code[0] != '4' && code[0] != '5' {
				t.Fatalf("%q: line %q", reply, l)
			}
			for _, c := range []byte(l) {
				if c < ' ' || c == 0x7f {
					t.Fatalf("%q: line %q has a control character", reply, l)
				}
			}
		}
	})
}
