package dkimsign

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/cleanup"
)

// FuzzParse: the From: parse and the table value parse never panic, and
// what they accept is well formed.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"Joe <joe@example.com>", "a@b.c, d@b.c", "=?utf-8?q?J=C3=B6?= <j@x.y>", "\"a,b\" <c@d>", "<", "sel:file, s2:/abs/f", "a:b c:d e:f", "v=DKIM1; k=ed25519; p=AAAA", "k=rsa; p=MIIB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := cleanup.Header{Fields: []cleanup.Field{cleanup.NewField("From", s)}}
		if d, err := FromDomain(&h); err == nil && (d == "" || d != strings.ToLower(d)) {
			t.Errorf("FromDomain(%q) = %q", s, d)
		}
		refs, err := ParseValue(s, "/keys")
		if err == nil && (len(refs) == 0 || len(refs) > 2) {
			t.Errorf("ParseValue(%q) = %v", s, refs)
		}
		MatchRecord(s, ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
		for _, r := range refs {
			if !ValidSelector(r.Selector) || !strings.HasPrefix(r.File, "/") {
				t.Errorf("ParseValue(%q): %+v", s, r)
			}
		}
	})
}
