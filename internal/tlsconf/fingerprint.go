package tlsconf

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"hash"
	"strings"
)

// Fingerprint is Postfix's fingerprint of data with the digest named by
// smtpd_tls_fingerprint_digest (md5, sha1 or sha256): upper-case hex
// bytes joined by colons, "3F:A2:…". An unknown digest is an error.
func Fingerprint(data []byte, digest string) (string, error) {
	var h hash.Hash
	switch strings.ToLower(digest) {
	case "md5":
		h = md5.New()
	case "sha1":
		h = sha1.New()
	case "sha256":
		h = sha256.New()
	default:
		return "", fmt.Errorf("unsupported fingerprint digest %q (use md5, sha1 or sha256)", digest)
	}
	h.Write(data)
	sum := h.Sum(nil)
	var b strings.Builder
	b.Grow(len(sum) * 3)
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String(), nil
}

// CertFingerprint is the fingerprint of the whole certificate (its DER
// encoding): Postfix's peer_cert_fprint, "fingerprint=" in its logs.
func CertFingerprint(c *x509.Certificate, digest string) (string, error) {
	return Fingerprint(c.Raw, digest)
}

// PublicKeyFingerprint is the fingerprint of the certificate's public
// key (its DER SubjectPublicKeyInfo): Postfix's peer_pkey_fprint,
// "pkey_fingerprint=", which survives a renewal with the same key.
func PublicKeyFingerprint(c *x509.Certificate, digest string) (string, error) {
	return Fingerprint(c.RawSubjectPublicKeyInfo, digest)
}
