// Package tlsconf turns main.cf's smtpd_tls_* settings into the server
// side of crypto/tls: certificates (several key types, one per SNI name),
// protocols and ciphers, client certificates, and certificates that
// reload themselves when their files change.
//
// Certificates: smtpd_tls_chain_files (Postfix ≥ 3.4: private keys each
// followed by their chain, in one file or a key file then its chain
// file) or, when it is empty, the legacy pairs smtpd_tls_cert_file /
// smtpd_tls_key_file and smtpd_tls_eccert_file / smtpd_tls_eckey_file.
// RSA and ECDSA certificates live side by side: each handshake gets the
// ECDSA one when the client supports it (ClientHelloInfo.
// SupportsCertificate), else the RSA one. DSA certificates
// (smtpd_tls_dcert_file) do not exist in Go: a non-empty value is an
// error. tls_server_sni_maps gives one certificate set per host name
// (see sni.go).
//
// Reloading: every handshake stats the certificate files (reload.go) and
// loads them again when one changed: no timer, no inotify, no reload
// command. A bad new certificate (expired too) is logged once and the
// old one stays. At start an expired certificate is served, with a
// warning (Warnings), as Postfix serves it.
//
// Protocols (protocols.go): smtpd_tls_protocols at level may,
// smtpd_tls_mandatory_protocols at encrypt, in both Postfix syntaxes;
// postern's default for both is ">=TLSv1.2". Versions down to TLS 1.0
// are honoured when asked for (Go's server still speaks TLS 1.0 and 1.1
// when MinVersion says so); SSLv2 and SSLv3 never.
//
// Ciphers (ciphers.go): the grades of smtpd_tls_ciphers (may) and
// smtpd_tls_mandatory_ciphers (encrypt) map onto Go's TLS 1.2 suites:
// high and medium are the suites Go calls secure, low and export add
// the ones it calls insecure (RSA key exchange, CBC-SHA256, 3DES, RC4);
// null is refused. smtpd_tls_exclude_ciphers and
// smtpd_tls_mandatory_exclude_ciphers take OpenSSL aliases and suite
// names. What cannot map: TLS 1.3 suites (Go always enables all three,
// so excluding one is an error); the OpenSSL cipher lists behind the
// grades (tls_high_cipherlist and the others: refused unless at
// Postfix's default); algorithms Go lacks (DHE, CAMELLIA, ARIA, PSK,
// NULL, EXPORT: excluding them changes nothing, as nothing offers them);
// @STRENGTH and cipher order (Go orders suites itself). An exclusion
// postern does not recognise is a warning (Warnings, postern check).
//
// Session tickets are off by default (tickets.go).
//
// Client certificates: smtpd_tls_ask_ccert or smtpd_tls_req_ccert make
// the handshake request one (tls.RequestClientCert: an untrusted
// certificate never fails the handshake, as in Postfix); VerifyClient
// checks it against smtpd_tls_CAfile and smtpd_tls_CApath: trusted only
// through a chain up to one of their self-signed roots, as OpenSSL
// decides (client.go).
//
// Certificate files cut short or damaged inside a PEM block (read during
// an in-place rewrite) are refused (certs.go); an SNI name that is not a
// valid host name gets the default certificate unlooked-up (sni.go).
package tlsconf

import (
	"crypto/tls"
	"log/slog"
	"time"
)

// Server is the TLS side of one SMTP service.
type Server struct {
	// Log receives reload messages (a bad new certificate, once per
	// change); nil means slog.Default(). Set it before the first
	// handshake.
	Log *slog.Logger

	tc          *tls.Config
	certs       *certStore
	sni         *sniMaps
	cas         *caSet
	verifyDepth int
	warnings    []string
	now         func() time.Time
}

// Config is the crypto/tls configuration for new handshakes, shared by
// every session: Clone it before changing anything. Its GetCertificate
// picks and reloads the certificates.
func (s *Server) Config() *tls.Config { return s.tc }

// Warnings are the problems New tolerated: unknown cipher names, an
// expired certificate (served), client CA files without a root.
func (s *Server) Warnings() []string { return s.warnings }

func (s *Server) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// getCertificate picks the certificate for one handshake: the SNI map's
// for the name the client asked for, else the default set, each
// reloaded first when its files changed.
func (s *Server) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if s.sni != nil {
		from := "unknown"
		if hello.Conn != nil {
			from = hello.Conn.RemoteAddr().String()
		}
		certs, err := s.sni.lookup(hello.ServerName, from)
		if err != nil {
			return nil, err
		}
		if certs != nil {
			return choose(hello, certs), nil
		}
	}
	return choose(hello, s.certs.get()), nil
}
