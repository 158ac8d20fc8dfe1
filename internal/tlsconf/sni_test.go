package tlsconf

import (
	"strings"
	"testing"
)

// validHostname never accepts what a second pass would refuse, nor
// anything longer than 255 bytes or with upper case.
func FuzzValidHostname(f *testing.F) {
	for _, s := range []string{"mx.example", "MX.Example.", "a..b", "-a.b", "a_b.c", "1.2.3.4", "", ".", strings.Repeat("a.", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		host, err := validHostname(name)
		if err != nil {
			return
		}
		if len(host) > maxHostname || host != strings.ToLower(host) || strings.HasSuffix(host, ".") {
			t.Fatalf("%q -> %q", name, host)
		}
		if again, err := validHostname(host); err != nil || again != host {
			t.Fatalf("%q -> %q -> %q, %v", name, host, again, err)
		}
	})
}
