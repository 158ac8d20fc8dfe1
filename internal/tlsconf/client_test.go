package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// subCA makes an intermediate CA signed by the test CA.
func subCA(t *testing.T) *testCA {
	t.Helper()
	root := ca(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7000), Subject: pkix.Name{CommonName: "postern test intermediate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.cert, key.Public(), root.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Only a chain up to a self-signed root of smtpd_tls_CAfile is trusted,
// as OpenSSL without partial chains: an intermediate alone in the file
// (a copy of a server's chain.pem) anchors nothing, but helps build the
// chain when its root is there too.
func TestVerifyClientNeedsSelfSignedRoot(t *testing.T) {
	dir := t.TempDir()
	inter := subCA(t)
	k, c := inter.leaf(t, "ecdsa", time.Now().Add(time.Hour), x509.ExtKeyUsageClientAuth, "client.example")
	cert, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	for _, tc := range []struct {
		name    string
		caFile  []byte
		chain   []*x509.Certificate
		trusted bool
	}{
		{"intermediate only in CAfile", inter.pem, []*x509.Certificate{leaf}, false},
		{"intermediate only, client sends it", inter.pem, []*x509.Certificate{leaf, inter.cert}, false},
		{"intermediate and root in CAfile", append(append([]byte(nil), inter.pem...), ca(t).pem...), []*x509.Certificate{leaf}, true},
		{"root in CAfile, client sends the intermediate", ca(t).pem, []*x509.Certificate{leaf, inter.cert}, true},
		{"root in CAfile, no intermediate", ca(t).pem, []*x509.Certificate{leaf}, false},
	} {
		cas, err := loadCAs(writeFile(t, filepath.Join(dir, "ca.pem"), tc.caFile), "")
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{cas: cas, verifyDepth: 9, now: time.Now}
		if err := s.VerifyClient(tc.chain); (err == nil) != tc.trusted {
			t.Errorf("%s: VerifyClient = %v, want trusted %v", tc.name, err, tc.trusted)
		}
	}
	// New warns when the files hold no root at all.
	pemFile := writeFile(t, filepath.Join(dir, "s.pem"), serverPEM(t, "ecdsa", "mx.example"))
	caFile := writeFile(t, filepath.Join(dir, "int.pem"), inter.pem)
	s := newServer(t, "smtpd_tls_chain_files = "+pemFile+"\nsmtpd_tls_CAfile = "+caFile+"\n")
	if len(s.Warnings()) != 1 {
		t.Errorf("warnings with an intermediate-only CAfile: %q", s.Warnings())
	}
	if n, err := CARoots(caFile, ""); n != 0 || err != nil {
		t.Errorf("CARoots(intermediate) = %d, %v", n, err)
	}
}

// VerifyClient agrees with `openssl verify -purpose sslclient` (what
// Postfix's OpenSSL decides) on each CAfile and client chain.
func TestVerifyClientAsOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	dir := t.TempDir()
	inter := subCA(t)
	k, c := inter.leaf(t, "ecdsa", time.Now().Add(time.Hour), x509.ExtKeyUsageClientAuth, "client.example")
	cert, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	leafFile := writeFile(t, filepath.Join(dir, "leaf.pem"), c)
	interFile := writeFile(t, filepath.Join(dir, "int.pem"), inter.pem)
	rootFile := writeFile(t, filepath.Join(dir, "root.pem"), ca(t).pem)
	both := writeFile(t, filepath.Join(dir, "both.pem"), append(append([]byte(nil), inter.pem...), ca(t).pem...))
	for _, tc := range []struct{ caFile, untrusted string }{
		{interFile, ""}, {interFile, interFile}, {both, ""}, {rootFile, interFile}, {rootFile, ""},
	} {
		args := []string{"verify", "-purpose", "sslclient", "-CAfile", tc.caFile}
		chain := []*x509.Certificate{cert.Leaf}
		if tc.untrusted != "" {
			args = append(args, "-untrusted", tc.untrusted)
			chain = append(chain, inter.cert)
		}
		out, err := exec.Command(openssl, append(args, leafFile)...).CombinedOutput()
		opensslOK := err == nil
		cas, err := loadCAs(tc.caFile, "")
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{cas: cas, verifyDepth: 9, now: time.Now}
		got := s.VerifyClient(chain)
		if (got == nil) != opensslOK {
			t.Errorf("CAfile %s, client sends %s: VerifyClient = %v; openssl: %s", filepath.Base(tc.caFile), filepath.Base(tc.untrusted), got, out)
		}
	}
}
