package dkim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"io"
	"runtime"
	"strings"
	"testing"
)

// bigMessage is a message of about size bytes: plainMsg's header and a
// base64 body in 76-character lines.
func bigMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString(strings.SplitAfter(plainMsg, "\r\n\r\n")[0])
	raw := make([]byte, 57)
	for b.Len() < size {
		rand.Read(raw)
		b.WriteString(base64.StdEncoding.EncodeToString(raw))
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// TestSignStreams: signing an 8 MiB message with two keys allocates far
// less than the message (the body is hashed as read, never held), also
// when the body is a run of empty lines (which relaxed canonicalization
// must not emit until it knows whether content follows).
func TestSignStreams(t *testing.T) {
	s, dns := dualSigner(t)
	blank := append(bigMessage(0), bytes.Repeat([]byte("\r\n"), 4<<20)...)
	blank = append(blank, "end\r\n"...)
	for name, msg := range map[string][]byte{"base64": bigMessage(8 << 20), "empty lines": blank} {
		t.Run(name, func(t *testing.T) { signStreams(t, s, dns, msg) })
	}
}

func signStreams(t *testing.T, s *Signer, dns map[string]string, msg []byte) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sig, err := s.Sign(bytes.NewReader(msg))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("signing 8 MiB allocated %d bytes", alloc)
	}
	for i, err := range verify(t, sig+string(msg), dns) {
		if err != nil {
			t.Errorf("signature %d: %v", i, err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"4KB", 4 << 10}, {"1MB", 1 << 20}} {
		msg := bigMessage(size.n)
		rsa, ed := Key{"rsa", testRSAKey(b)}, Key{"ed", testEd25519Key(b)}
		for _, key := range []struct {
			name string
			k    []Key
		}{{"rsa2048", []Key{rsa}}, {"ed25519", []Key{ed}}, {"dual", []Key{rsa, ed}}} {
			s, err := NewSigner(testDomain, key.k...)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(size.name+"/"+key.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(msg)))
				for b.Loop() {
					if _, err := s.Sign(io.Reader(bytes.NewReader(msg))); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
