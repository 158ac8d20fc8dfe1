package tlsconf

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// caSet is what smtpd_tls_CAfile and smtpd_tls_CApath hold. Only
// self-signed certificates are trust anchors: OpenSSL (and so Postfix,
// which never sets X509_V_FLAG_PARTIAL_CHAIN) trusts a client only when
// its chain reaches a self-signed root. Go would take every certificate
// of a Roots pool as an anchor, so the others (an intermediate copied
// from a server's chain.pem) only help build the chain.
type caSet struct {
	roots *x509.CertPool // self-signed: the trust anchors
	inter *x509.CertPool // the others: links towards a root
	all   *x509.CertPool // every one: their names go in the certificate request
	n     int            // how many self-signed roots
}

// loadCAs reads smtpd_tls_CAfile (a PEM bundle) and every file of
// smtpd_tls_CApath (OpenSSL's hashed directory; any PEM file is read).
// nil means no trusted authority is configured.
func loadCAs(file, dir string) (*caSet, error) {
	if file == "" && dir == "" {
		return nil, nil
	}
	set := &caSet{roots: x509.NewCertPool(), inter: x509.NewCertPool(), all: x509.NewCertPool()}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("smtpd_tls_CAfile: %w", err)
		}
		if set.add(data) == 0 {
			return nil, fmt.Errorf("smtpd_tls_CAfile: %s: no PEM certificate", file)
		}
	}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("smtpd_tls_CApath: %w", err)
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if data, err := os.ReadFile(p); err == nil {
				set.add(data)
			}
		}
	}
	return set, nil
}

// add files the certificates of a PEM bundle; it returns how many.
func (set *caSet) add(data []byte) int {
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return n
		}
		if b.Type != "CERTIFICATE" || len(b.Headers) != 0 {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			continue
		}
		n++
		set.all.AddCert(c)
		if SelfSigned(c) {
			set.roots.AddCert(c)
			set.n++
		} else {
			set.inter.AddCert(c)
		}
	}
}

// SelfSigned reports whether c is a root as OpenSSL sees one: its issuer
// is its subject and its signature checks with its own key.
func SelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// CARoots counts the self-signed roots of smtpd_tls_CAfile and
// smtpd_tls_CApath as the server reads them.
func CARoots(file, dir string) (int, error) {
	set, err := loadCAs(file, dir)
	if set == nil || err != nil {
		return 0, err
	}
	return set.n, nil
}

// VerifyClient checks a client's certificate chain (the leaf first)
// against smtpd_tls_CAfile and smtpd_tls_CApath, for client
// authentication, with at most smtpd_tls_ccert_verifydepth certificates
// above the leaf: nil means trusted. The chain must reach a self-signed
// root of those files (no partial chains, as in OpenSSL).
func (s *Server) VerifyClient(chain []*x509.Certificate) error {
	if s == nil || s.cas == nil {
		return errors.New("no trusted client certificate authorities configured (smtpd_tls_CAfile, smtpd_tls_CApath)")
	}
	if len(chain) == 0 {
		return errors.New("no client certificate")
	}
	inter := s.cas.inter.Clone()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	chains, err := chain[0].Verify(x509.VerifyOptions{Roots: s.cas.roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: s.now()})
	if err != nil {
		return err
	}
	for _, c := range chains {
		if len(c)-1 <= s.verifyDepth && SelfSigned(c[len(c)-1]) {
			return nil
		}
	}
	return fmt.Errorf("no chain up to a self-signed root within smtpd_tls_ccert_verifydepth = %d", s.verifyDepth)
}
