package virtual

import (
	"strings"
	"testing"
)

// The address splitting never panics, starts with the whole address and
// ends with "@domain" for an address with a domain.
func FuzzLookupKeys(f *testing.F) {
	for _, s := range []string{"alice+x@v.test", "@v.test", "a@", "owner-x@d", "x", "+@d", "a+b+c@d@e"} {
		f.Add(s, "+-")
	}
	f.Fuzz(func(t *testing.T, addr, delim string) {
		keys := lookupKeys(addr, delim)
		if len(keys) == 0 || keys[0] != addr {
			t.Fatalf("keys %q", keys)
		}
		if at := strings.LastIndexByte(addr, '@'); at >= 0 && at+1 < len(addr) && keys[len(keys)-1] != addr[at:] {
			t.Fatalf("keys %q end without @domain", keys)
		}
		if n := atol(addr); n < 0 && !strings.Contains(addr, "-") { // overflow
			t.Fatalf("atol(%q) = %d", addr, n)
		}
	})
}
