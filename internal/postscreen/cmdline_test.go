package postscreen

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadCommand(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		line  string
		bare  bool
		err   error
	}{
		{"EHLO a\r\nrest", 100, "EHLO a", false, nil},
		{"EHLO a\nrest", 100, "EHLO a", true, nil},
		{"a\rb\r\n", 100, "a\rb", false, nil},
		{"a\r\r\n", 100, "a\r", false, nil},
		{"\n", 100, "", true, nil},
		{"abcde\r\n", 6, "abcde", false, nil},
		{"abcdef\r\n", 6, "abcdef", false, errTooLong}, // as Postfix: the CR is one byte too many
		{"abcd\r\r\n", 6, "abcd\r", false, nil},
		{"abcde\r\r\n", 6, "abcde\r", false, errTooLong}, // Postfix lets CR runs grow
		{"abc", 100, "abc", false, io.EOF},
	} {
		line, bare, err := readCommand(bufio.NewReader(strings.NewReader(tc.in)), tc.limit)
		if line != tc.line || bare != tc.bare || !errors.Is(err, tc.err) && err != tc.err {
			t.Errorf("%q: %q %v %v, want %q %v %v", tc.in, line, bare, err, tc.line, tc.bare, tc.err)
		}
	}
}

func TestCommandParsing(t *testing.T) {
	for _, tc := range [][3]string{
		{"GET / HTTP/1.1", "GET", "/ HTTP/1.1"},
		{"  MAIL FROM:<a>", "MAIL", "FROM:<a>"},
		{"QUIT", "QUIT", ""},
		{"RCPT  TO:<a>", "RCPT", " TO:<a>"},
		{"", "", ""},
	} {
		if v, r := splitCommand(tc[0]); v != tc[1] || r != tc[2] {
			t.Errorf("splitCommand(%q) = %q, %q", tc[0], v, r)
		}
	}
	for in, want := range map[string]bool{"Subject:": true, "From:<a@b>": true, "X-Foo\t:": true, ":": false,
		"EHLO": false, "Sub\x01ject:": false, "a\tb:": false, "": false, "Ünï:": false} {
		if isHeader(in) != want {
			t.Errorf("isHeader(%q) = %v", in, !want)
		}
	}
	for in, want := range map[string]string{"<a@b>": "a@b", " <a@b> SIZE=10": "a@b", "a@b SIZE=1": "a@b",
		`<"a b"@c>`: "a b@c", `<a\>b@c>`: "a>b@c", "<@r1,@r2:u@d>": "u@d", "<>": "", `<a\`: "a"} {
		if got := extractAddr(in); got != want {
			t.Errorf("extractAddr(%q) = %q, want %q", in, got, want)
		}
	}
	if got := printable("a\x01\xffb"); got != "a??b" {
		t.Errorf("printable: %q", got)
	}
}
