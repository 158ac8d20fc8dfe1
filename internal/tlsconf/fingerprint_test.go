package tlsconf_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern-mta/postern/internal/smtpd/smtptest"
	"github.com/postern-mta/postern/internal/tlsconf"
)

// Fingerprints are Postfix's: upper-case hex joined by colons, equal to
// what openssl prints (the recipes of Postfix's TLS_README: x509
// -fingerprint for the certificate, the DER public key through dgst -c
// for pkey_fingerprint).
func TestFingerprintsMatchOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	c := smtptest.NewCert(t, "client.example")
	certFile, _ := smtptest.WriteCert(t, dir, c)
	for _, d := range []string{"md5", "sha1", "sha256"} {
		got, err := tlsconf.CertFingerprint(c.Leaf, d)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("openssl", "x509", "-in", certFile, "-noout", "-fingerprint", "-"+d).Output()
		if err != nil {
			t.Fatal(err)
		}
		_, want, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
		if got != want {
			t.Errorf("%s certificate fingerprint %s, openssl %s", d, got, want)
		}
		pub := filepath.Join(dir, "pub.der")
		os.WriteFile(pub, c.Leaf.RawSubjectPublicKeyInfo, 0o644)
		out, err = exec.Command("openssl", "dgst", "-"+d, "-c", pub).Output()
		if err != nil {
			t.Fatal(err)
		}
		_, want, _ = strings.Cut(strings.TrimSpace(string(out)), "= ")
		got, _ = tlsconf.PublicKeyFingerprint(c.Leaf, d)
		if got != strings.ToUpper(want) {
			t.Errorf("%s public key fingerprint %s, openssl %s", d, got, want)
		}
	}
	// The public key is the one in the PEM file.
	b, _ := os.ReadFile(certFile)
	blk, _ := pem.Decode(b)
	parsed, _ := x509.ParseCertificate(blk.Bytes)
	if a, _ := tlsconf.PublicKeyFingerprint(parsed, "sha256"); a != mustFP(t, c.Leaf) {
		t.Errorf("pkey fingerprint differs after a PEM round trip")
	}
	if _, err := tlsconf.Fingerprint(nil, "sha512"); err == nil {
		t.Error("sha512 accepted")
	}
}

func mustFP(t *testing.T, c *x509.Certificate) string {
	fp, err := tlsconf.PublicKeyFingerprint(c, "SHA256")
	if err != nil {
		t.Fatal(err)
	}
	return fp
}
