package cleanup

import (
	"bytes"
	"io"
	"testing"

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
