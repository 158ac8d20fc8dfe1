package dkim

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// RFC 6376 §3.4.5's example, relaxed/relaxed.
const (
	rfc6376Header = "A: X\r\nB : Y\t\r\n\tZ  \r\n"
	rfc6376Body   = " C \r\nD \t E\r\n\r\n\r\n"
)

func TestRelaxedHeaderRFC6376(t *testing.T) {
	var got []string
	for _, f := range splitFields([]byte(rfc6376Header + "\r\n")) {
		got = append(got, relaxedHeader(f.raw))
	}
	if want := "a:X|b:Y Z"; strings.Join(got, "|") != want {
		t.Errorf("got %q, want %q", strings.Join(got, "|"), want)
	}
}

func TestRelaxedBody(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{rfc6376Body, " C\r\nD E\r\n"}, // RFC 6376 §3.4.5
		{"", ""},
		{"\r\n\r\n", ""},
		{"  \t\r\n", ""},
		{"abc", "abc\r\n"},
		{"abc\n\n", "abc\r\n"},
		{"a\n\nb\n", "a\r\n\r\nb\r\n"},
		{"a \r b\r\n", "a \r b\r\n"},
		{"a\r", "a\r\r\n"},
		{"a\r\r\n", "a\r\r\n"},
		{"x\t\ty \r\n  \r\nz", "x y\r\n\r\nz\r\n"},
	} {
		if got := canonBody([]byte(tc.in), 0); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
		if ref := refBody(tc.in); ref != tc.want {
			t.Errorf("%q: reference gives %q, want %q", tc.in, ref, tc.want)
		}
	}
}

// canonBody runs relaxedBody over in, written in chunks of chunk bytes
// (all at once when 0).
func canonBody(in []byte, chunk int) string {
	var out bytes.Buffer
	c := &relaxedBody{w: &out}
	if chunk <= 0 {
		chunk = len(in) + 1
	}
	for len(in) > 0 {
		n := min(chunk, len(in))
		c.Write(in[:n])
		in = in[n:]
	}
	c.Close()
	return out.String()
}

var wspRun = regexp.MustCompile(`[ \t]+`)

// refBody is RFC 6376 §3.4.4 done the obvious way, on the whole body.
func refBody(in string) string {
	lines := strings.Split(strings.ReplaceAll(in, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(wspRun.ReplaceAllString(l, " "), " ")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\r\n") + "\r\n"
}

// FuzzRelaxedBody: the streaming canonicalizer agrees with the reference
// whatever the input and however it is cut into writes.
func FuzzRelaxedBody(f *testing.F) {
	f.Add([]byte(rfc6376Body), 1)
	f.Add([]byte("a\r\r\n \t\r\n\r"), 2)
	f.Fuzz(func(t *testing.T, in []byte, chunk int) {
		if chunk < 0 {
			chunk = -chunk
		}
		want := refBody(string(in))
		if got := canonBody(in, chunk%64); got != want {
			t.Errorf("%q in chunks of %d: got %q, want %q", in, chunk%64, got, want)
		}
	})
}

// FuzzSign: any input either signs or returns an error, never panics, and
// the body hash does not depend on how the reader returns the bytes.
func FuzzSign(f *testing.F) {
	f.Add([]byte(plainMsg))
	f.Add([]byte(rfc8463Msg))
	f.Add([]byte("From: a\n b\nFrom:\n\n\r\n"))
	s, err := NewSigner("example.com", Key{"ed", testEd25519Key(f)})
	if err != nil {
		f.Fatal(err)
	}
	s.now = func() time.Time { return time.Unix(1528637909, 0) }
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, errA := s.Sign(bytes.NewReader(msg))
		b, errB := s.Sign(iotest.OneByteReader(bytes.NewReader(msg)))
		if (errA == nil) != (errB == nil) {
			t.Fatalf("errors differ: %v / %v", errA, errB)
		}
		if errA == nil && a != b {
			t.Errorf("signatures differ:\n%s\n%s", a, b)
		}
	})
}

// FuzzParsePrivateKey: no input panics the key reader.
func FuzzParsePrivateKey(f *testing.F) {
	k, err := MarshalPrivateKey(testEd25519Key(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k)
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := ParsePrivateKey(data); err == nil && k == nil {
			t.Error("nil key without error")
		}
	})
}
