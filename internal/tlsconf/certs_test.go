package tlsconf

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Chain files as Postfix reads them: each key followed by its chain, in
// one file or split over consecutive files.
func TestLoadChain(t *testing.T) {
	dir := t.TempDir()
	rsaPEM := serverPEM(t, "rsa", "mx.example")
	ecPEM := serverPEM(t, "ecdsa", "mx.example")
	ecKey, ecCert := splitPEM(t, ecPEM)
	f := func(name string, data []byte) string { return writeFile(t, filepath.Join(dir, name), data) }
	both := f("both.pem", append(append([]byte(nil), rsaPEM...), ecPEM...))
	rsaFile := f("rsa.pem", rsaPEM)
	keyOnly := f("ec.key", ecKey)
	certOnly := f("ec.crt", ecCert)
	withCA := f("rsa-ca.pem", append(append([]byte(nil), rsaPEM...), ca(t).pem...))
	mismatch := f("mismatch.pem", append(append([]byte(nil), ecKey...), rsaPEM[strings.Index(string(rsaPEM), "-----BEGIN CERTIFICATE"):]...))
	junk := f("junk.pem", []byte("not pem\n"))
	for _, tc := range []struct {
		name  string
		files []string
		kinds string // r for RSA, e for ECDSA, in order
		err   string
	}{
		{"one file, two keys", []string{both}, "re", ""},
		{"two files", []string{rsaFile, keyOnly, certOnly}, "re", ""},
		{"chain with CA", []string{withCA}, "r", ""},
		{"cert before key", []string{certOnly, keyOnly}, "", "before its private key"},
		{"key without cert", []string{keyOnly}, "", "without a certificate"},
		{"mismatch", []string{mismatch}, "", "does not match"},
		{"not PEM", []string{junk}, "", "no PEM data"},
		{"missing", []string{filepath.Join(dir, "nope")}, "", "no such file"},
	} {
		certs, err := Source{Param: "smtpd_tls_chain_files", Chain: tc.files}.Load()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var kinds string
		for _, c := range certs {
			switch c.PrivateKey.(type) {
			case *rsa.PrivateKey:
				kinds += "r"
			case *ecdsa.PrivateKey:
				kinds += "e"
			}
			if c.Leaf == nil {
				t.Errorf("%s: no Leaf", tc.name)
			}
		}
		if kinds != tc.kinds {
			t.Errorf("%s: keys %q, want %q", tc.name, kinds, tc.kinds)
		}
	}
	if certs, _ := (Source{Param: "p", Chain: []string{withCA}}).Load(); len(certs) == 1 && len(certs[0].Certificate) != 2 {
		t.Errorf("chain with CA: %d certificates, want 2", len(certs[0].Certificate))
	}
}

func TestExpired(t *testing.T) {
	k, c := ca(t).leaf(t, "ecdsa", time.Now().Add(-time.Minute), x509.ExtKeyUsageServerAuth, "old.example")
	path := writeFile(t, dirFile(t, "old.pem"), append(k, c...))
	certs, err := Source{Param: "p", Chain: []string{path}}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := Expired(certs, time.Now()); err == nil || !strings.Contains(err.Error(), "old.example expired") {
		t.Errorf("Expired: %v", err)
	}
	if err := Expired(certs, time.Now().Add(-time.Hour)); err != nil {
		t.Errorf("Expired an hour ago: %v", err)
	}
}

// splitPEM returns the key block and the certificate blocks.
func splitPEM(t testing.TB, data []byte) (key, certs []byte) {
	i := strings.Index(string(data), "-----BEGIN CERTIFICATE")
	if i < 0 {
		t.Fatal("no certificate")
	}
	return data[:i], data[i:]
}
