package policyclient

import (
	"bufio"
	"strings"
	"testing"
)

// FuzzRead: any answer is parsed or refused with an error, never a
// panic, and what is returned respects the limits.
func FuzzRead(f *testing.F) {
	for _, s := range []string{"action=DUNNO\n\n", "action=REJECT a=b\r\nx=y\n\n", "=\n\n", "garbage", "\n", "action=" + strings.Repeat("x", 9000) + "\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ans, err := Read(bufio.NewReaderSize(strings.NewReader(s), 16))
		if err != nil {
			return
		}
		if len(ans) > maxAttrs {
			t.Fatalf("%d attributes", len(ans))
		}
		for k, v := range ans {
			if k == "" || strings.Contains(k, "=") || strings.ContainsAny(k+v, "\n") || len(k)+len(v) > maxLine {
				t.Fatalf("bad attribute %q=%q", k, v)
			}
		}
	})
}

// FuzzEndpoint: the parser never panics and returns tcp or unix.
func FuzzEndpoint(f *testing.F) {
	for _, s := range []string{"inet:127.0.0.1:10023", "unix:private/policy", "inet:[::1]:1", "inet::", "unix:", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, _, err := Endpoint(s, "/q")
		if err == nil && n != "tcp" && n != "unix" {
			t.Fatalf("%q: network %q", s, n)
		}
	})
}
