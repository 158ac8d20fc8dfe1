package pipelining

import (
	"io"
	"net"
	"testing"
	"time"
)

func TestMustBeLast(t *testing.T) {
	for _, c := range []struct {
		verb    string
		offered bool
		want    bool
	}{
		{"EHLO", true, true}, {"HELO", true, true}, {"DATA", true, true}, {"NOOP", true, true}, {"VRFY", true, true},
		{"MAIL", true, false}, {"RCPT", true, false}, {"RSET", true, false}, {"BDAT", true, false}, {"QUIT", true, false},
		{"MAIL", false, true}, {"RCPT", false, true}, {"QUIT", false, true}, {"BDAT", false, true},
		{"FOO", false, false}, {"SUBJECT:", false, false}, {"", false, false}, {"ETRN", true, false},
	} {
		if got := MustBeLast(c.verb, c.offered); got != c.want {
			t.Errorf("MustBeLast(%q, %v) = %v", c.verb, c.offered, got)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"MAIL FROM:<a@b>\r\n":   `MAIL FROM:<a@b>\r\n`,
		"EHLO \x01\t\xc3\xa9x":  `EHLO \001\t\303\251x`, // as Postfix 3.7.11 logged it
		"a\\b":                  `a\\b`,
		"\a\b\v\f\x00\x7f\xff ": `\a\b\v\f\000\177\377 `,
		"":                      "",
	} {
		if got := Escape([]byte(in)); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// Pending sees bytes in the socket without taking them, and nothing on
// an idle socket or a connection that is not one.
func TestPending(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	buf := make([]byte, 4)
	if n := Pending(sc, buf); n != 0 {
		t.Fatalf("idle socket: %d pending", n)
	}
	io.WriteString(c, "NOOP\r\n")
	n := 0
	for end := time.Now().Add(10 * time.Second); n == 0 && time.Now().Before(end); time.Sleep(time.Millisecond) {
		n = Pending(sc, buf)
	}
	if string(buf[:n]) != "NOOP" {
		t.Fatalf("pending %q", buf[:n])
	}
	all := make([]byte, 6)
	if _, err := io.ReadFull(sc, all); err != nil || string(all) != "NOOP\r\n" {
		t.Fatalf("read %q, %v: Pending consumed input", all, err)
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if n := Pending(p1, buf); n != 0 {
		t.Errorf("net.Pipe: %d pending", n)
	}
}

// FuzzEscape: the log form is printable ASCII, never a line break, and
// reads back to the input.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"MAIL FROM:<a@b>\r\n", "\x00\xff\\", "EHLO \x01\t\xc3\xa9"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out := Escape(in)
		for i := 0; i < len(out); i++ {
			if out[i] < ' ' || out[i] > '~' {
				t.Fatalf("Escape(%q) = %q holds byte %#x", in, out, out[i])
			}
		}
		if back := unescape(t, out); back != string(in) {
			t.Fatalf("Escape(%q) = %q reads back as %q", in, out, back)
		}
	})
}

// unescape is Escape's inverse, for the fuzz test.
func unescape(t *testing.T, s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		i++
		switch c := s[i]; {
		case c == '\\':
			b = append(b, '\\')
		case c >= '0' && c <= '3':
			b = append(b, (c-'0')<<6|(s[i+1]-'0')<<3|(s[i+2]-'0'))
			i += 2
		default:
			j := 0
			for j < 7 && "abtnvfr"[j] != c {
				j++
			}
			if j == 7 {
				t.Fatalf("unknown escape \\%c in %q", c, s)
			}
			b = append(b, '\a'+byte(j))
		}
	}
	return string(b)
}

// Drain takes what has arrived, so that a close is an orderly EOF.
func TestDrain(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n")
	buf := make([]byte, 64)
	for end := time.Now().Add(10 * time.Second); Pending(sc, buf) < 32 && time.Now().Before(end); time.Sleep(time.Millisecond) {
	}
	Drain(sc, 1<<16)
	if n := Pending(sc, buf); n != 0 {
		t.Fatalf("%d bytes left after Drain", n)
	}
	io.WriteString(sc, "554 bye\r\n")
	sc.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if string(got) != "554 bye\r\n" || err != nil {
		t.Fatalf("client read %q, %v", got, err)
	}
}
