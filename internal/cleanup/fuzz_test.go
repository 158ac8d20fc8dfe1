package cleanup

import (
	"bytes"
	"io"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/postern-mta/postern/internal/queue"
)

// FuzzMessage: whatever the content, the parsed message gives it back
// byte for byte, or with one empty line put where the header ended
// without it before more content; the result parses to itself (the
// boundary is unambiguous); every field starts a field line; and a
// field prepended comes out in front of the unchanged content. The seed
// corpus is testdata/fuzz/FuzzMessage.
func FuzzMessage(f *testing.F) {
	for _, s := range corpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m := parse(t, in)
		defer m.Close()
		got, err := io.ReadAll(m.Content())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, in) {
			e := m.Header.end
			k := len(m.Header.Bytes()) - len(e)
			if e == "" || k < 0 || k >= len(in) || !bytes.Equal(got, slices.Concat(in[:k], []byte(e), in[k:])) {
				t.Fatalf("content %q, want %q or one empty line inserted", got, in)
			}
		}
		head := m.Header.Bytes()
		if len(got) > len(head) && m.Header.end == "" {
			t.Fatalf("%q: body %q after a header without its empty line", in, got[len(head):])
		}
		for _, f := range m.Header.Fields {
			if !isFieldStart([]byte(f.Raw)) {
				t.Fatalf("field %q", f.Raw)
			}
		}
		if len(got) <= MaxHeaderBytes {
			m2 := parse(t, got)
			again, _ := io.ReadAll(m2.Content())
			m2.Close()
			if !bytes.Equal(again, got) || len(m2.Header.Fields) != len(m.Header.Fields) {
				t.Fatalf("%q parsed again: %q, %d fields, want %d", got, again, len(m2.Header.Fields), len(m.Header.Fields))
			}
		}
		m.Header.Prepend("X-Fuzz", "1")
		after, _ := io.ReadAll(m.Content())
		if want := append([]byte("X-Fuzz: 1\r\n"), got...); !bytes.Equal(after, want) {
			t.Fatalf("after Prepend %q, want %q", after, want)
		}
	})
}

func parse(t *testing.T, in []byte) *Message {
	sp := NewSpool("")
	sp.Write(in)
	m, err := NewMessage(&queue.Envelope{}, Origin{}, sp)
	if err != nil {
		t.Fatal(err)
	}
	return m
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
