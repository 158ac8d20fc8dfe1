package mailauth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/postern-mta/postern/internal/cleanup"

	"github.com/postern-mta/postern/internal/dnstest"
)

func newChecker(t *testing.T, dns *dnstest.Server, cfg Config) *Checker {
	t.Helper()
	cfg.Resolver = dns.Resolver()
	if cfg.AuthservID == "" {
		cfg.AuthservID = "mx.receiver.test"
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func verify(t *testing.T, c *Checker, msg []byte) []DKIMResult {
	t.Helper()
	res, err := c.Check(context.Background(), Input{Header: header(msg), Content: bytes.NewReader(msg)})
	if err != nil {
		t.Fatal(err)
	}
	return res.DKIM
}

// Messages signed by dkimpy (rsa-sha256, ed25519-sha256) and by
// OpenDKIM verify; a changed body or signed header field fails.
func TestDKIMInterop(t *testing.T) {
	dns := dnstest.Start(t, interopKeys(t))
	c := newChecker(t, dns, Config{DKIM: true})
	for _, tc := range []struct{ file, selector, algo string }{
		{"opendkim.eml", "opendkim", "rsa-sha256"},
		{"dkimpy-rsa.eml", "dkimpy", "rsa-sha256"},
		{"dkimpy-ed25519.eml", "ed", "ed25519-sha256"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			msg := fixture(t, tc.file)
			got := verify(t, c, msg)
			if len(got) != 1 || got[0].Result != "pass" || got[0].Domain != "interop.test" ||
				got[0].Selector != tc.selector || got[0].Algorithm != tc.algo || len(got[0].B) != 8 {
				t.Fatalf("signed by %s: %+v", tc.file, got)
			}
			body := bytes.Replace(msg, []byte("Hello Bob"), []byte("Hello Eve"), 1)
			if got := verify(t, c, body); len(got) != 1 || got[0].Result != "fail" {
				t.Errorf("modified body: %+v, want fail", got)
			}
			subj := bytes.Replace(msg, []byte("Subject: DKIM"), []byte("Subject: dkim"), 1)
			if got := verify(t, c, subj); len(got) != 1 || got[0].Result != "fail" {
				t.Errorf("modified Subject: %+v, want fail", got)
			}
		})
	}
}

func TestDKIMKeyProblems(t *testing.T) {
	msg := fixture(t, "dkimpy-rsa.eml")
	for _, tc := range []struct {
		name string
		zone dnstest.Zone
		want string
	}{
		{"key lookup SERVFAIL", dnstest.Zone{"dkimpy._domainkey.interop.test": {dnstest.ServFail()}}, "temperror"},
		{"no key", dnstest.Zone{"interop.test": {dnstest.A("192.0.2.1")}}, "permerror"},
		{"revoked key", dnstest.Zone{"dkimpy._domainkey.interop.test": {dnstest.TXT("v=DKIM1; p=")}}, "permerror"},
		{"wrong key", dnstest.Zone{"dkimpy._domainkey.interop.test": {dnstest.TXT(keyRecord(t, "opendkim.txt"))}}, "fail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(t, dnstest.Start(t, tc.zone), Config{DKIM: true})
			if got := verify(t, c, msg); len(got) != 1 || got[0].Result != tc.want {
				t.Errorf("%+v, want %s", got, tc.want)
			}
		})
	}
}

// Every signature is verified, in header order; none is no result.
func TestDKIMEverySignature(t *testing.T) {
	dns := dnstest.Start(t, interopKeys(t))
	c := newChecker(t, dns, Config{DKIM: true})
	rsa := fixture(t, "dkimpy-rsa.eml")
	ed := fixture(t, "dkimpy-ed25519.eml")
	edSig, _, _ := bytes.Cut(ed, []byte("From:"))
	both := append(append([]byte{}, edSig...), rsa...)
	got := verify(t, c, both)
	if len(got) != 2 || got[0].Selector != "ed" || got[1].Selector != "dkimpy" || got[0].Result != "pass" || got[1].Result != "pass" {
		t.Errorf("two signatures: %+v", got)
	}
	if got := verify(t, c, fixture(t, "message.eml")); len(got) != 0 {
		t.Errorf("unsigned: %+v, want no result", got)
	}
}

// A message the verifier cannot read (the review's input: a signed
// header without the empty line that ends it) is a permerror of each
// signature, never an error of the checks (451); a read error of the
// held content is ours and stays an error.
func TestDKIMUnreadable(t *testing.T) {
	dns := dnstest.Start(t, interopKeys(t))
	c := newChecker(t, dns, Config{DKIM: true})
	sig := "DKIM-Signature: v=1; a=rsa-sha256; d=interop.test; s=dkimpy; h=from; bh=YWJj; b=QUJDREVGR0hJSktM\r\n"
	for _, msg := range []string{
		sig + "From: a@interop.test\r\n",
		sig + "From: a@interop.test\r\nSubject: x",
	} {
		res, err := c.Check(context.Background(), Input{Header: header([]byte(msg)), Content: strings.NewReader(msg)})
		if err != nil {
			t.Errorf("%q: %v, want a result", msg, err)
			continue
		}
		if len(res.DKIM) != 1 || res.DKIM[0].Result != "permerror" || res.DKIM[0].Domain != "interop.test" ||
			res.DKIM[0].Selector != "dkimpy" || res.DKIM[0].B != "QUJDREVG" {
			t.Errorf("%q: %+v, want one permerror", msg, res.DKIM)
		}
		if f := c.Field(res); !strings.Contains(f, `dkim=permerror reason="message not verifiable: `) {
			t.Errorf("%q: field %s", msg, f)
		}
	}
	// Through the stage, not enforcing and enforcing: never a 451.
	for _, enforce := range []bool{false, true} {
		c := newChecker(t, dns, Config{SPF: true, DKIM: true, DMARC: true, Enforce: enforce})
		m := message(t, cleanup.Origin{ClientAddr: goodIP, Helo: "mail.interop.test"}, "a@interop.test",
			[]byte(sig+"From: a@interop.test\r\n"))
		if v := c.Apply(context.Background(), m); v.Action != cleanup.Continue {
			t.Errorf("enforce %v: %+v", enforce, v)
		}
	}
	// Our own read failure is an error.
	_, err := c.Check(context.Background(), Input{Header: header([]byte(sig)),
		Content: io.MultiReader(strings.NewReader(sig), iotest.ErrReader(errors.New("spool gone")))})
	if err == nil || !strings.Contains(err.Error(), "spool gone") {
		t.Errorf("read error: %v", err)
	}
}
