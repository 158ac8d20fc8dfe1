package jsonlines

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestWriteEscapes(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"plain", `{"name":"plain","value":"plain"}`},
		{`a"b\c`, `{"name":"a\"b\\c","value":"a\"b\\c"}`},
		{"l1\nl2\r\t\x00\x1f", `{"name":"l1\nl2\r\t\u0000\u001f","value":"l1\nl2\r\t\u0000\u001f"}`},
		{"<>&", `{"name":"<>&","value":"<>&"}`},
		{"bad\xff\xfe", `{"name":"bad\ufffd\ufffd","value":"bad\ufffd\ufffd"}`},
		{"\u2028 é", `{"name":"\u2028 é","value":"\u2028 é"}`},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		w := NewWriter(&b)
		if err := w.Write(Param{tt.in, tt.in}); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if got := b.String(); got != tt.want+"\n" {
			t.Errorf("%q: got %s want %s", tt.in, got, tt.want)
		}
	}
}

// checkLines fails t unless out is JSON Lines: newline-terminated lines,
// each valid UTF-8 and one JSON object.
func checkLines(t *testing.T, out []byte) int {
	t.Helper()
	if len(out) > 0 && out[len(out)-1] != '\n' {
		t.Fatalf("output does not end with a newline: %q", out)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		line := sc.Bytes()
		if !utf8.Valid(line) {
			t.Fatalf("line is not UTF-8: %q", line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		n++
	}
	return n
}

func FuzzWrite(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\x00\n\r", "\xff", "\xed\xa0\x80", "\u2028"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		var b bytes.Buffer
		w := NewWriter(&b)
		if err := w.Write(Entry{k, "texthash:/x", v}); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(Param{k, v}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if n := checkLines(t, b.Bytes()); n != 2 {
			t.Fatalf("%d lines, want 2: %q", n, b.String())
		}
		var e Entry
		json.Unmarshal(bytes.SplitN(b.Bytes(), []byte("\n"), 2)[0], &e)
		if utf8.ValidString(k) && e.Key != k || utf8.ValidString(v) && e.Value != v {
			t.Fatalf("valid UTF-8 not kept: %q %q -> %+v", k, v, e)
		}
	})
}
