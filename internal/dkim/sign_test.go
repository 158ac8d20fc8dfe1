package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	msgdkim "github.com/emersion/go-msgauth/dkim"
)

const testDomain = "example.com"

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// testRSAKey is generated once per test binary (2048 bits takes a while).
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		k, err := GenerateKey(RSA, 0)
		if err != nil {
			t.Fatal(err)
		}
		rsaKey = k.(*rsa.PrivateKey)
	})
	return rsaKey
}

func testEd25519Key(t testing.TB) ed25519.PrivateKey {
	seed, _ := base64.StdEncoding.DecodeString(rfc8463Seed)
	return ed25519.NewKeyFromSeed(seed)
}

// dualSigner signs for testDomain with selectors "rsa" and "ed".
func dualSigner(t testing.TB) (*Signer, map[string]string) {
	t.Helper()
	keys := []Key{{"rsa", testRSAKey(t)}, {"ed", testEd25519Key(t)}}
	s, err := NewSigner(testDomain, keys...)
	if err != nil {
		t.Fatal(err)
	}
	dns := map[string]string{}
	for _, k := range keys {
		rec, err := TXTRecord(k.Signer.Public())
		if err != nil {
			t.Fatal(err)
		}
		dns[k.Selector+"._domainkey."+testDomain] = rec
	}
	return s, dns
}

// verify checks every signature of msg with go-msgauth's verifier against
// the fake DNS and returns the errors (nil for a pass), one per signature.
func verify(t *testing.T, msg string, dns map[string]string) []error {
	t.Helper()
	vs, err := msgdkim.VerifyWithOptions(strings.NewReader(msg), &msgdkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if rec, ok := dns[strings.TrimSuffix(name, ".")]; ok {
				return []string{rec}, nil // net.LookupTXT joins a record's strings
			}
			return nil, fmt.Errorf("no TXT for %s", name)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, v := range vs {
		errs = append(errs, v.Err)
	}
	return errs
}

func sign(t *testing.T, s *Signer, msg string) string {
	t.Helper()
	sig, err := s.Sign(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

const plainMsg = "From: Joe <joe@example.com>\r\n" +
	"To: Suzie <suzie@example.net>\r\n" +
	"Subject: Is dinner ready?\r\n" +
	"Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n" +
	"Message-ID: <1@example.com>\r\n" +
	"X-Mailer: not signed\r\n" +
	"\r\n" +
	"Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n"

func TestSignVerifyRoundTrip(t *testing.T) {
	s, dns := dualSigner(t)
	lf := strings.ReplaceAll(plainMsg, "\r\n", "\n")
	for _, tc := range []struct {
		name, msg string
	}{
		{"crlf", plainMsg},
		{"folded header", strings.Replace(plainMsg, "Subject: Is", "Subject:   Is\r\n\t", 1)},
		{"no body", strings.SplitAfter(plainMsg, "\r\n\r\n")[0]},
		{"no body no blank line", "From: a@example.com\r\nSubject: x\r\n"},
		{"empty body lines", strings.SplitAfter(plainMsg, "\r\n\r\n")[0] + "\r\n\r\n\r\n"},
		{"lf", lf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig := sign(t, s, tc.msg)
			if n := strings.Count(sig, "DKIM-Signature:"); n != 2 {
				t.Fatalf("%d signatures, want 2 (dual):\n%s", n, sig)
			}
			for _, want := range []string{"a=rsa-sha256", "a=ed25519-sha256", "c=relaxed/relaxed", "d=example.com", "s=rsa", "s=ed"} {
				if !strings.Contains(sig, want) {
					t.Errorf("signature lacks %q:\n%s", want, sig)
				}
			}
			if strings.Contains(sig, " l=") || strings.Contains(sig, ";l=") {
				t.Errorf("signature uses l=:\n%s", sig)
			}
			for _, l := range strings.Split(sig, "\r\n") {
				if len(l) > 78 {
					t.Errorf("signature line of %d characters: %s", len(l), l)
				}
			}
			signed := sig + tc.msg
			if !strings.Contains(tc.msg, "\r\n\r\n") && tc.name != "lf" {
				signed += "\r\n" // the verifier needs the empty line
			}
			if tc.name == "lf" {
				signed = strings.ReplaceAll(sig, "\r\n", "\n") + tc.msg
			}
			for i, err := range verify(t, signed, dns) {
				if err != nil {
					t.Errorf("signature %d: %v", i, err)
				}
			}
		})
	}
}

// TestTampering: any change to a signed part fails every signature.
func TestTampering(t *testing.T) {
	s, dns := dualSigner(t)
	signed := sign(t, s, plainMsg) + plainMsg
	for _, tc := range []struct{ name, old, new string }{
		{"body", "hungry", "angry"},
		{"body line added", "Joe.\r\n", "Joe.\r\nP.S.\r\n"},
		{"subject", "Subject: Is dinner", "Subject: Was dinner"},
		{"second From added (oversigned)", "From: Joe", "From: Mallory <m@evil.example>\r\nFrom: Joe"},
		{"From added at the end of the header", "X-Mailer", "From: Mallory <m@evil.example>\r\nX-Mailer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(signed, tc.old, tc.new, 1)
			if bad == signed {
				t.Fatal("test did not change the message")
			}
			for i, err := range verify(t, bad, dns) {
				if err == nil {
					t.Errorf("signature %d still verifies", i)
				}
			}
		})
	}
	// Unsigned fields may change: X-Mailer is not in the set.
	ok := strings.Replace(signed, "not signed", "changed", 1)
	for i, err := range verify(t, ok, dns) {
		if err != nil {
			t.Errorf("unsigned field changed: signature %d: %v", i, err)
		}
	}
}

func TestHeaderKeys(t *testing.T) {
	for _, tc := range []struct {
		name, hdr, want string
	}{
		{"basic", plainMsg, "From:From:Subject:Date:To:Message-ID"},
		{"only From", "From: a@b\r\n\r\n", "From:From"},
		{"two From", "From: a@b\r\nfrom: c@d\r\n\r\n", "From:From:From"},
		{"case and space", "FROM : a@b\r\ncc: x\r\nCC: y\r\n\r\n", "From:From:Cc:Cc"},
		{"MIME and lists", "From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\nList-Id: <l.example>\r\nList-Unsubscribe: <mailto:u@l>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nReply-To: r@b\r\nIn-Reply-To: <x>\r\nReferences: <x>\r\nReceived: from x\r\n\r\n",
			"From:From:Reply-To:In-Reply-To:References:MIME-Version:Content-Type:Content-Transfer-Encoding:List-Id:List-Unsubscribe:List-Unsubscribe-Post"},
		{"continuation not a field", "From: a@b\r\nX: y\r\n Subject: no\r\n\r\n", "From:From"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := strings.SplitAfter(tc.hdr, "\r\n\r\n")[0]
			keys, err := headerKeys(splitFields([]byte(hdr)))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(keys, ":"); got != tc.want {
				t.Errorf("h=%s, want %s", got, tc.want)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	s, _ := dualSigner(t)
	for _, tc := range []struct{ name, msg, want string }{
		{"no From", "To: a@b\r\n\r\nbody\r\n", "no From"},
		{"empty", "", "no From"},
		{"header too long", "From: a@b\r\nX: " + strings.Repeat("x", MaxHeaderBytes) + "\r\n\r\n", "header longer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Sign(strings.NewReader(tc.msg))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	_, err := s.Sign(io.MultiReader(strings.NewReader(plainMsg), errReader{}))
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("read error: err = %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, fmt.Errorf("boom") }

func TestNewSignerErrors(t *testing.T) {
	ed := testEd25519Key(t)
	for _, tc := range []struct {
		name   string
		domain string
		keys   []Key
	}{
		{"no domain", "", []Key{{"s", ed}}},
		{"bad domain", "a;b", []Key{{"s", ed}}},
		{"no key", "example.com", nil},
		{"no selector", "example.com", []Key{{"", ed}}},
		{"bad selector", "example.com", []Key{{"a b", ed}}},
		{"nil signer", "example.com", []Key{{"s", nil}}},
		{"unsupported key", "example.com", []Key{{"s", fakeSigner{}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSigner(tc.domain, tc.keys...); err == nil {
				t.Error("no error")
			}
		})
	}
}

type fakeSigner struct{}

func (fakeSigner) Public() crypto.PublicKey { return nil }
func (fakeSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, nil
}
