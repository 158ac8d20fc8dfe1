package tlsconf

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// loadCAs reads smtpd_tls_CAfile (a PEM bundle) and every file of
// smtpd_tls_CApath (OpenSSL's hashed directory; any PEM file is read).
// nil means no trusted authority is configured.
func loadCAs(file, dir string) (*x509.CertPool, error) {
	if file == "" && dir == "" {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("smtpd_tls_CAfile: %w", err)
		}
		if !pool.AppendCertsFromPEM(data) {
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
				pool.AppendCertsFromPEM(data)
			}
		}
	}
	return pool, nil
}

// VerifyClient checks a client's certificate chain (the leaf first)
// against smtpd_tls_CAfile and smtpd_tls_CApath, for client
// authentication, with at most smtpd_tls_ccert_verifydepth certificates
// above the leaf: nil means trusted.
func (s *Server) VerifyClient(chain []*x509.Certificate) error {
	if s == nil || s.cas == nil {
		return errors.New("no trusted client certificate authorities configured (smtpd_tls_CAfile, smtpd_tls_CApath)")
	}
	if len(chain) == 0 {
		return errors.New("no client certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	chains, err := chain[0].Verify(x509.VerifyOptions{Roots: s.cas, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: s.now()})
	if err != nil {
		return err
	}
	for _, c := range chains {
		if len(c)-1 <= s.verifyDepth {
			return nil
		}
	}
	return fmt.Errorf("certificate chain longer than smtpd_tls_ccert_verifydepth = %d", s.verifyDepth)
}
