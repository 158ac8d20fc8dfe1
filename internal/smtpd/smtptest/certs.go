package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// NewCert makes a self-signed ECDSA P-256 certificate for cn (also its
// DNS name), valid from an hour ago for a day.
func NewCert(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	return NewCertValid(t, cn, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// NewCertValid is NewCert valid from notBefore to notAfter (expired or
// expiring certificates for the checks).
func NewCertValid(t testing.TB, cn string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     []string{cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// PEM encodes c's private key (PKCS#8) and certificate.
func PEM(t testing.TB, c tls.Certificate) (keyPEM, certPEM []byte) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]})
}

// WriteCert writes c as PEM files in dir: the certificate and its key,
// for smtpd_tls_cert_file and smtpd_tls_key_file.
func WriteCert(t testing.TB, dir string, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	keyPEM, certPEM := PEM(t, c)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TLSConf is main.cf text naming a fresh certificate for
// mx.example.test, written under dir.
func TLSConf(t testing.TB, dir string) string {
	t.Helper()
	cert, key := WriteCert(t, dir, NewCert(t, "mx.example.test"))
	return "smtpd_tls_cert_file = " + cert + "\nsmtpd_tls_key_file = " + key + "\n"
}
