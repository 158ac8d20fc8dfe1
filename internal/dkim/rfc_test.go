package dkim

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

// Facts from RFC 8463 appendix A: the Ed25519 key, its DNS record, and
// the message signed there.
const (
	rfc8463Seed   = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
	rfc8463Record = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	rfc8463BH     = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8="
	rfc8463Sig    = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n" +
		" d=football.example.com; i=@football.example.com;\r\n" +
		" q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n" +
		" subject : date : message-id : from : subject : date;\r\n" +
		" bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n" +
		" b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n" +
		" Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
	rfc8463Msg = "From: Joe SixPack <joe@football.example.com>\r\n" +
		"To: Suzie Q <suzie@shopping.example.net>\r\n" +
		"Subject: Is dinner ready?\r\n" +
		"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n" +
		"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n" +
		"\r\n" +
		"Hi.\r\n" +
		"\r\n" +
		"We lost the game.  Are you hungry yet?\r\n" +
		"\r\n" +
		"Joe.\r\n"
)

// TestRFC8463Key: the seed gives the published public key, and our TXT
// record for it is the RFC's.
func TestRFC8463Key(t *testing.T) {
	rec, err := TXTRecord(testEd25519Key(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	if rec != rfc8463Record {
		t.Errorf("record %q, want %q", rec, rfc8463Record)
	}
}

// TestRFC8463Example: our signature of the RFC's message has the RFC's
// body hash, verifies, and the RFC's own signature verifies with the same
// verifier (so the check is not circular).
func TestRFC8463Example(t *testing.T) {
	s, err := NewSigner("football.example.com", Key{"brisbane", testEd25519Key(t)})
	if err != nil {
		t.Fatal(err)
	}
	sig := sign(t, s, rfc8463Msg)
	if !strings.Contains(sig, "bh="+rfc8463BH) {
		t.Errorf("body hash differs from RFC 8463's %s:\n%s", rfc8463BH, sig)
	}
	if !strings.Contains(sig, "h=From:From:Subject:Date:To:Message-ID") {
		t.Errorf("unexpected h=:\n%s", sig)
	}
	dns := map[string]string{"brisbane._domainkey.football.example.com": rfc8463Record}
	for _, msg := range []string{sig + rfc8463Msg, rfc8463Sig + rfc8463Msg} {
		for i, err := range verify(t, msg, dns) {
			if err != nil {
				t.Errorf("signature %d: %v\n%s", i, err, msg)
			}
		}
	}
}

// TestRFC8463Deterministic: Ed25519 is deterministic, so hashing the RFC's
// header fields relaxed (RFC 6376 §3.4.2) and signing with the RFC's key
// must give the RFC's b= byte for byte.
func TestRFC8463Deterministic(t *testing.T) {
	relax := func(f string) string {
		name, val, _ := strings.Cut(f, ":")
		val = strings.NewReplacer("\r\n", "").Replace(val)
		val = strings.Join(strings.Fields(val), " ")
		return strings.ToLower(strings.TrimSpace(name)) + ":" + val
	}
	fields := map[string]string{}
	for _, l := range strings.Split(strings.SplitN(rfc8463Msg, "\r\n\r\n", 2)[0], "\r\n") {
		name, _, _ := strings.Cut(l, ":")
		fields[strings.ToLower(name)] = l
	}
	h := sha256.New()
	for _, name := range []string{"from", "to", "subject", "date", "message-id"} {
		h.Write([]byte(relax(fields[name]) + "\r\n"))
	}
	empty := regexp.MustCompile(`b=[^;]*$`).ReplaceAllString(strings.TrimSuffix(rfc8463Sig, "\r\n"), "b=")
	h.Write([]byte(relax(empty)))
	got := base64.StdEncoding.EncodeToString(ed25519.Sign(testEd25519Key(t), h.Sum(nil)))
	want := "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="
	if got != want {
		t.Errorf("b=%s, want RFC 8463's %s", got, want)
	}
}
