package dkim

import (
	"strings"
	"testing"
	"time"
)

// TestGoldenEd25519: Ed25519 is deterministic, so with t= fixed our whole
// signature of RFC 8463's message is known; this pins the field's layout
// (tag order, folding) as well as the cryptography.
func TestGoldenEd25519(t *testing.T) {
	s, err := NewSigner("football.example.com", Key{"brisbane", testEd25519Key(t)})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return time.Unix(1528637909, 0) }
	got := sign(t, s, rfc8463Msg)
	if got != goldenEd25519 {
		t.Errorf("got\n%s\nwant\n%s", got, goldenEd25519)
	}
	dns := map[string]string{"brisbane._domainkey.football.example.com": rfc8463Record}
	if errs := verify(t, got+rfc8463Msg, dns); len(errs) != 1 || errs[0] != nil {
		t.Errorf("golden signature does not verify: %v", errs)
	}
}

var goldenEd25519 = strings.Join([]string{
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;",
	"\td=football.example.com; s=brisbane; t=1528637909;",
	"\th=From:From:Subject:Date:To:Message-ID;",
	"\tbh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;",
	"\tb=MfpBS5WpMdAvpFzTyYmw9lOXreH9c60yDiB1sJOaC1aqpTwujHYYret7rp6QAewLegkdeQ7X",
	"\tyYdy0V9q2+fbAw==",
	"",
}, "\r\n")

// TestLongDomainFolds: a long d= and s= still give lines of at most 78
// characters, and the signature verifies.
func TestLongDomainFolds(t *testing.T) {
	domain := strings.Repeat("sub.", 12) + "example.com"
	sel := "selector-2026-12"
	s, err := NewSigner(domain, Key{sel, testEd25519Key(t)})
	if err != nil {
		t.Fatal(err)
	}
	sig := sign(t, s, plainMsg)
	for _, l := range strings.Split(sig, "\r\n") {
		if len(l) > 78 {
			t.Errorf("line of %d characters: %s", len(l), l)
		}
	}
	dns := map[string]string{sel + "._domainkey." + domain: rfc8463Record}
	if errs := verify(t, sig+plainMsg, dns); len(errs) != 1 || errs[0] != nil {
		t.Errorf("does not verify: %v", errs)
	}
}
